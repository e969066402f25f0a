"""The reservation rule exists once: inventory/sql/reserve.sql, installed by migrations as it is."""

import importlib
import re
from pathlib import Path

import pytest
from django.db import connection

from inventory import services, sqlfiles

MIGRATIONS = Path(sqlfiles.__file__).resolve().parent / "migrations"


def newest_pin(name: str) -> tuple[str, str]:
    """(migration, checksum) of the newest inventory migration that installs the file."""
    pins = []
    for path in sorted(MIGRATIONS.glob("[0-9]*.py")):
        module = importlib.import_module(f"inventory.migrations.{path.stem}")
        if name in getattr(module, "INSTALLS", {}):
            pins.append((path.stem, module.INSTALLS[name]))
    assert pins, f"no migration installs {name}"
    return pins[-1]


def test_a_change_to_the_file_comes_with_a_migration_that_installs_it():
    migration, pinned = newest_pin("reserve.sql")
    assert pinned == sqlfiles.checksum("reserve.sql"), (
        f"inventory/sql/reserve.sql changed after {migration} installed it: add a migration that installs it "
        f"(sqlfiles.install) with INSTALLS = {{'reserve.sql': '{sqlfiles.checksum('reserve.sql')}'}}"
    )


@pytest.mark.django_db
def test_the_database_holds_exactly_the_files_functions():
    bodies = sqlfiles.function_bodies("reserve.sql")
    assert set(bodies) == {"inventory_reserve"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(%s)", [list(bodies)])
        installed = cursor.fetchall()
    assert dict(installed) == bodies and len(installed) == len(bodies)  # one definition each, no stale overload


def test_python_holds_no_copy_of_the_rule():
    """The service only calls the function: no statement of its own touches stock levels or reservations."""
    source = Path(services.__file__).read_text()
    assert not re.search(r"(UPDATE|INSERT INTO)\s+inventory_(stocklevel|reservation)", source, re.I)
    assert "inventory_reserve(" in services._RESERVE_SQL

"""SQL kept in files (an app's sql/ folder) exists once: installed by migrations as it is, and the database holds
exactly that text. The reservation rule is one of them (inventory/sql/reserve.sql)."""

import importlib
import re
from pathlib import Path

import pytest
from django.db import connection

from inventory import services
from oms import sqlfiles

FILES = sorted(str(path.relative_to(sqlfiles.ROOT)) for path in sqlfiles.ROOT.glob("*/sql/*.sql"))


def test_the_files_are_found():
    assert {"inventory/sql/reserve.sql", "orders/sql/line_reserved.sql"} <= set(FILES)


def newest_pin(path: str) -> tuple[str, str]:
    """(migration, checksum) of the newest migration of the file's app that installs it."""
    app = path.split("/")[0]
    pins = []
    for migration in sorted((sqlfiles.ROOT / app / "migrations").glob("[0-9]*.py")):
        module = importlib.import_module(f"{app}.migrations.{migration.stem}")
        if path in getattr(module, "INSTALLS", {}):
            pins.append((migration.stem, module.INSTALLS[path]))
    assert pins, f"no migration of {app} installs {path}"
    return pins[-1]


@pytest.mark.parametrize("path", FILES)
def test_a_change_to_a_file_comes_with_a_migration_that_installs_it(path):
    migration, pinned = newest_pin(path)
    assert pinned == sqlfiles.checksum(path), (
        f"{path} changed after {migration} installed it: add a migration with operations "
        f"[sqlfiles.install({path!r})] and INSTALLS = {{{path!r}: {sqlfiles.checksum(path)!r}}}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILES)
def test_the_database_holds_exactly_the_files_functions(path):
    bodies = sqlfiles.function_bodies(path)
    assert bodies
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(%s)", [list(bodies)])
        installed = cursor.fetchall()
    assert len(installed) == len(bodies)  # one definition each: no stale overload
    assert dict(installed) == bodies


def test_the_reservation_rule_has_no_copy_in_python():
    """The service only calls the function: no statement of its own writes stock levels or reservations."""
    source = Path(services.__file__).read_text()
    assert not re.search(r"(UPDATE|INSERT INTO)\s+inventory_(stocklevel|reservation)", source, re.I)
    assert "inventory_reserve(" in services._RESERVE_SQL

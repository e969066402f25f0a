"""Reports and the export read from a real streaming replica; writes and read-after-write stay on the primary.

The replica is built on this machine: a new cluster holding a copy of the test database, and a hot standby made
from it by `pg_basebackup`. Pausing the standby's replay makes the routing visible: what the replica answers
lags, what the primary answers does not.
"""

import os
import shutil
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oms import replica, rls
from oms.models import Role
from orders.models import Order
from tests.conftest import OWNER_LOGIN, login
from tests.factories import make_member, make_tenant
from tests.orders.helpers import place_order, stocked_product
from tests.support import replica as cluster

pytestmark = pytest.mark.django_db(transaction=True)

APP_ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT"


def superuser(pair, which: str):
    return psycopg.connect(host=pair["host"], port=pair[f"{which}_port"], user="postgres", dbname=pair["name"])


@pytest.fixture
def primary_and_replica(transactional_db):
    """The app's `default` database is the new primary and `replica` its standby, both as the application role."""
    if shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("runuser is needed to run PostgreSQL as a system account")
    source = dict(connections["default"].settings_dict)
    roles = {settings.DATABASE_APP_ROLE: APP_ROLE_ATTRIBUTES, "oms_system": "NOLOGIN"}
    try:
        pairing = cluster.primary_with_replica(source=source, owner=OWNER_LOGIN["USER"] or "postgres", roles=roles)
        pair = pairing.__enter__()
    except FileNotFoundError as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    allow_the_replica_alias()
    handler_settings = connections.settings
    connections.close_all()
    for alias in ("default", "replica"):
        if hasattr(connections._connections, alias):
            delattr(connections._connections, alias)
    saved_default = dict(handler_settings["default"])
    handler_settings["default"].update(HOST=pair["host"], PORT=str(pair["primary_port"]), NAME=pair["name"])
    handler_settings["replica"] = {**handler_settings["default"], "PORT": str(pair["replica_port"])}
    try:
        yield pair
    finally:
        connections.close_all()
        for alias in ("default", "replica"):
            if hasattr(connections._connections, alias):
                delattr(connections._connections, alias)
        del handler_settings["replica"]
        handler_settings["default"].clear()
        handler_settings["default"].update(saved_default)
        pairing.__exit__(None, None, None)


def allow_the_replica_alias() -> None:
    """Django lets a test case reach only the databases it declared when it started, and `replica` did not exist
    then: add it to the running test case's own list (held by the connection guard Django installs)."""
    guard = BaseDatabaseWrapper.ensure_connection
    test_case = next(c.cell_contents for c in guard.__closure__ or () if isinstance(c.cell_contents, type))
    test_case.databases = frozenset(test_case.databases) | {replica.REPLICA}


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def orders_on_replica(shop) -> int:
    with rls.tenant_context(shop.pk), replica.replica_reads() as alias:
        assert alias == replica.REPLICA
        return Order.objects.count()


def test_reports_read_the_replica_while_writes_and_the_order_page_use_the_primary(primary_and_replica):
    pair = primary_and_replica
    shop = make_tenant("replicated")
    with rls.tenant_context(shop.pk):
        product = stocked_product(shop, on_hand=50)
        place_order(shop, [(product, 1)])
        owner = login(make_member(shop, Role.OWNER), shop)
    wait_for(lambda: orders_on_replica(shop) == 1)

    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(connections["replica"]) as on_replica,
    ):
        page = owner.get(reverse("analytics:flow"))
    assert page.status_code == 200
    assert "Read from the reporting replica" in page.content.decode()
    report_sql = [q["sql"] for q in on_replica.captured_queries if "orders_" in q["sql"]]
    assert report_sql, "the report read nothing from the replica"
    assert not [q["sql"] for q in on_primary.captured_queries if "work_mem" in q["sql"]]

    with superuser(pair, "replica") as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        with rls.tenant_context(shop.pk):
            fresh = place_order(shop, [(product, 2)])  # a write: on the primary
        assert owner.get(reverse("orders:detail", args=[fresh.pk])).status_code == 200  # read after write
        time.sleep(1.2)
        assert orders_on_replica(shop) == 1  # the replica has not replayed it yet
        body = owner.get(reverse("analytics:flow")).content.decode()
        assert "s behind the live data" in body
        standby.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: orders_on_replica(shop) == 2)


def test_an_unreachable_replica_leaves_the_reports_to_the_primary(primary_and_replica):
    pair = primary_and_replica
    shop = make_tenant("replica-down")
    with rls.tenant_context(shop.pk):
        owner = login(make_member(shop, Role.OWNER), shop)
    connections["replica"].close()
    connections.settings["replica"]["PORT"] = str(pair["replica_port"] + 1 if pair["replica_port"] < 65535 else 1)
    if hasattr(connections._connections, "replica"):
        delattr(connections._connections, "replica")
    try:
        page = owner.get(reverse("analytics:flow"))
        assert page.status_code == 200
        assert "reporting replica" not in page.content.decode()
    finally:
        replica._unreachable_until = 0.0

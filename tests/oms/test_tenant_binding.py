"""The tenant is bound inside each transaction and never left on the database session (oms/dbbackend/base.py)."""

import psycopg
import pytest
from django.db import connection, transaction

from oms import rls
from oms.db import fetch_prepared
from orders.models import Order
from tests.factories import make_tenant
from tests.orders.helpers import place_order, stocked_product


def session_setting() -> str:
    """`app.tenant_id` on the session, asked with a plain psycopg cursor (one that binds nothing)."""
    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cursor:
        cursor.execute("SELECT coalesce(current_setting('app.tenant_id', true), '')")
        return cursor.fetchone()[0]


@pytest.fixture
def two_shops(transactional_db):
    shops = []
    for slug, count in (("bind-a", 2), ("bind-b", 3)):
        shop = make_tenant(slug)
        with rls.tenant_context(shop.pk):
            product = stocked_product(shop)
            for _ in range(count):
                place_order(shop, [(product, 1)])
        shops.append(shop)
    rls.bind(None)
    return shops


def test_each_autocommit_statement_carries_the_binding_and_the_session_keeps_none(two_shops):
    a, b = two_shops
    assert Order.objects.count() == 0  # bound to no shop: the policies admit nothing
    rls.bind(a.pk)
    assert Order.objects.count() == 2
    rls.bind(b.pk)
    assert Order.objects.count() == 3
    assert session_setting() == ""  # nothing left behind for the next user of this server connection
    rls.bind(None)
    assert Order.objects.count() == 0


def test_a_transaction_binds_once_and_follows_a_change_of_shop(two_shops):
    a, b = two_shops
    rls.bind(a.pk)
    with transaction.atomic():
        assert Order.objects.count() == 2
        with rls.tenant_context(b.pk):
            assert Order.objects.count() == 3
        assert Order.objects.count() == 2
    assert session_setting() == ""


def test_a_rolled_back_savepoint_does_not_leave_the_previous_shop_bound(two_shops):
    a, b = two_shops
    rls.bind(a.pk)
    with transaction.atomic():
        assert Order.objects.count() == 2  # the transaction holds shop A
        try:
            with transaction.atomic():  # a savepoint, in which the code turns to shop B
                rls.bind(b.pk)
                assert Order.objects.count() == 3
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        # The rollback to the savepoint restored A in the database; the code still works for B.
        assert Order.objects.count() == 3


def test_prepared_statements_and_named_cursors_are_bound_too(two_shops):
    a, b = two_shops
    rls.bind(b.pk)
    assert fetch_prepared("SELECT count(*) FROM orders_order", []) == [(3,)]  # server-side binding, autocommit
    assert len(list(Order.objects.all().iterator(chunk_size=2))) == 3  # a cursor declared WITH HOLD
    with transaction.atomic():
        assert fetch_prepared("SELECT count(*) FROM orders_order", []) == [(3,)]
        assert len(list(Order.objects.all().iterator(chunk_size=2))) == 3
    assert session_setting() == ""


def test_maintenance_that_refuses_a_transaction_block_runs_with_a_shop_bound(two_shops):
    rls.bind(two_shops[0].pk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) orders_order")  # would fail as a two-statement message
    assert Order.objects.count() == 2

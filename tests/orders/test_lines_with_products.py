"""Lines with their products (an order's on its page, every reservation and packing scan; a purchase's) read only
those products, however big the catalogue and whatever PostgreSQL's statistics know of it.

A join of lines and products let the planner merge them with the products' key index read from its start, which it
costs by the lines' statistics as stopping early; for a product newer than they know (catalogues grow, and new
products sell) the merge walked the whole catalogue. Counted here from PostgreSQL's own statistics of this
transaction, so whatever the plan, what it read is what is asserted."""

import threading
import time

import pytest
from django.db import connection, transaction

from inventory import purchasing
from inventory.models import Product
from oms import rls
from oms.models import Tenant
from orders.models import OrderLine
from orders.selectors import lines_with_products
from shipments.services.packing import pack_lines
from tests.factories import WarehouseFactory
from tests.oms.test_health_check import owner_session

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)

CATALOGUE = 30_000


def products_read() -> int:
    """Product rows this transaction has read so far, by scans of the table and through its indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables WHERE relid = %s::regclass",
            [Product._meta.db_table],
        )
        return cursor.fetchone()[0]


def on_a_generic_plan(order):
    """As after a session's fifth run: PostgreSQL may then keep a plan made without the values (the statement is
    prepared), which must not walk the catalogue either."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    return [(line.product.sku, line.quantity) for line in lines_with_products(order_id=order.pk)]


READERS = {
    "the order page and the reserve": lambda order: [
        (line.product.sku, line.quantity) for line in lines_with_products(order_id=order.pk)
    ],
    "the order page and the reserve, on a generic plan": on_a_generic_plan,
    "the packing station": lambda order: [(p.line.product.sku, p.line.quantity) for p in pack_lines(order)],
    "any other page": lambda order: [(line.product.sku, line.quantity) for line in order.lines.with_products()],
    "a pick list": lambda order: [
        (line.product.sku, line.quantity)
        for line in OrderLine.objects.filter(order_id__in=[order.pk]).with_products().order_by("pk")
    ],
}


@pytest.fixture
def grown_catalogue(tenant):
    """Orders and purchases of 20 products, statistics taken, then 30,000 products more and the newest one."""
    warehouse = WarehouseFactory(tenant=tenant, code="MAIN")
    known = [stocked_product(tenant, sku=f"KNOWN-{i}", on_hand=100, warehouse=warehouse) for i in range(20)]
    for i in range(60):
        place_order(tenant, [(known[i % 20], 1)])
    with rls.tenant_context(tenant.pk):
        for i in range(20):
            purchase([known[i]])
    with owner_session() as owner:  # statistics from before the catalogue grew, as a busy shop's often are
        owner.execute("ANALYZE orders_orderline")
        owner.execute("ANALYZE inventory_purchaseorderline")
        owner.execute(
            "INSERT INTO inventory_product (tenant_id, sku, name, barcode, price, category, cost_price, is_active, "
            "created_at) SELECT %s, 'BULK-' || n, 'Bulk product', '', 1, '', 1, true, now() "
            "FROM generate_series(1, %s) AS n",
            [tenant.pk, CATALOGUE],
        )
        owner.execute("ANALYZE inventory_product")
    return known, stocked_product(tenant, sku="NEWEST", on_hand=5, warehouse=warehouse)


def purchase(products):
    return purchasing.create_purchase_order(
        tenant=Tenant.objects.get(pk=products[0].tenant_id),
        supplier="Supplier",
        warehouse_code="MAIN",
        lines=[purchasing.PurchaseLine(p.sku, 1 + n) for n, p in enumerate(products)],
    )


def read_in_one_transaction(tenant, read):
    with rls.tenant_context(tenant.pk), transaction.atomic():
        before = products_read()
        lines = read()
        return lines, products_read() - before


@pytest.mark.parametrize("reader", READERS)
def test_an_order_of_the_newest_product_reads_its_products_not_the_catalogue(tenant, grown_catalogue, reader):
    known, newest = grown_catalogue
    order = place_order(tenant, [(newest, 1), (known[3], 2)])
    lines, read = read_in_one_transaction(tenant, lambda: READERS[reader](order))
    assert lines == [("NEWEST", 1), ("KNOWN-3", 2)]
    assert read <= len(lines), f"{read} product rows read for an order of {len(lines)} lines"


def test_a_purchase_of_the_newest_product_reads_its_products_not_the_catalogue(tenant, grown_catalogue):
    known, newest = grown_catalogue
    with rls.tenant_context(tenant.pk):
        bought = purchase([newest, known[3]])
    lines, read = read_in_one_transaction(
        tenant, lambda: [(line.product.sku, line.quantity) for line in bought.lines.with_products().order_by("pk")]
    )
    assert lines == [("NEWEST", 1), ("KNOWN-3", 2)]
    assert read <= len(lines), f"{read} product rows read for a purchase of {len(lines)} lines"


def test_a_line_removed_between_the_lines_and_their_products_still_gets_its_product(tenant):
    """The order page reads an order's lines and their products in one round trip, but as two statements, each with
    its own snapshot: a line removed (or moved by a split) in between has no product in the second. It is read by
    key, as products are never deleted, and the page shows the lines as the first statement saw them."""
    kept, removed = stocked_product(tenant, sku="KEPT"), stocked_product(tenant, sku="REMOVED")
    order = place_order(tenant, [(removed, 1), (kept, 2)])
    read = {}

    def order_page():
        try:
            with rls.tenant_context(tenant.pk):
                read["lines"] = [(line.product.sku, line.quantity) for line in lines_with_products(order_id=order.pk)]
        except Exception as exc:  # noqa: BLE001 - reported below
            read["error"] = exc
        finally:
            connection.close()

    with owner_session() as holder, owner_session() as other:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE inventory_product IN ACCESS EXCLUSIVE MODE")  # the products' read waits here
        reader = threading.Thread(target=order_page)
        reader.start()
        waited = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'inventory_product'::regclass"
        deadline = time.monotonic() + 10
        while not other.execute(waited).fetchone()[0]:
            assert time.monotonic() < deadline, "the products' read never waited"
            time.sleep(0.02)
        other.execute("DELETE FROM orders_orderline WHERE order_id = %s AND product_id = %s", [order.pk, removed.pk])
        holder.execute("ROLLBACK")
        reader.join(30)
    assert "error" not in read, repr(read.get("error"))
    assert read["lines"] == [("REMOVED", 1), ("KEPT", 2)]

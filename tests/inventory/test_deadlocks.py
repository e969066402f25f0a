"""Two orders taking the same two SKUs in opposite line order, reserved in parallel many times:
no deadlock error and no oversell (rows are locked in one fixed order)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from inventory import services as stock
from inventory.models import StockLevel
from oms import rls
from orders.models import Order, OrderLine
from orders.services import reservations
from tests.concurrency import assert_levels_locked_in_product_order
from tests.orders.helpers import SYSTEM, place_order, stocked_product

from .helpers import lines_for, warehouse
from .helpers import product as new_product

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 15


def test_opposite_line_order_never_deadlocks_or_oversells(tenant):
    errors = []
    for _ in range(ROUNDS):
        first, second = stocked_product(tenant, on_hand=3), stocked_product(tenant, on_hand=3)
        order_ab = place_order(tenant, [(first, 2), (second, 2)])
        order_ba = place_order(tenant, [(second, 2), (first, 2)])
        barrier = threading.Barrier(2)

        def reserve(order_id):
            try:
                rls.bind(tenant.pk)  # a request's connection is bound to its shop
                barrier.wait()
                reservations.reserve_order(order=Order.objects.get(pk=order_id), actor=SYSTEM)
            except Exception as exc:  # noqa: BLE001 - any error fails the test below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=reserve, args=(pk,)) for pk in (order_ab.pk, order_ba.pk)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        for product in (first, second):
            level = StockLevel.objects.get(product=product)
            reserved_on_lines = sum(OrderLine.objects.filter(product=product).values_list("reserved", flat=True))
            assert level.reserved == reserved_on_lines == 3  # all of it, never more
    assert errors == []


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_one_line_reservation_that_finds_its_warehouse_emptied_keeps_the_lock_order(tenant):
    """The one-line shortcut waits on the preferred warehouse's row; when the unit there went meanwhile, the general
    statement takes the rest under locks. Holding the preferred row while it waits for a row that comes earlier in
    (product, warehouse) order would deadlock with a reservation taking them in that order."""
    old = warehouse(tenant, "OLD", priority=200)  # made first: earlier in lock order
    new = warehouse(tenant, "NEW", priority=100)  # preferred
    item = new_product(tenant, sku="HOT")
    stock.receive(tenant=tenant, warehouse=old, lines=[(item, 5)])
    stock.receive(tenant=tenant, warehouse=new, lines=[(item, 1)])
    taker, shortcut = lines_for(tenant, [item]), lines_for(tenant, [item])
    two_lines = lines_for(tenant, [item, item])
    taken, release = threading.Event(), threading.Event()
    failures = []

    def run(work):
        def body():
            try:
                rls.bind(tenant.pk)
                work()
            except Exception as exc:  # noqa: BLE001 - any error fails the test below
                failures.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=body)
        thread.start()
        return thread

    def reserve(lines, hold=False):
        with transaction.atomic():  # no retry: a deadlock shows
            stock.reserve(tenant=tenant, demands=[stock.Demand(ln.pk, item.pk, 1) for ln in lines])
            if hold:
                taken.set()
                release.wait(timeout=30)

    threads = [run(lambda: reserve(taker, hold=True))]  # takes NEW's only unit, not committed yet
    assert taken.wait(timeout=30)
    threads.append(run(lambda: reserve(shortcut)))  # the shortcut waits on NEW's row
    _until(lambda: _waiting_on_locks() == 1)
    threads.append(run(lambda: reserve(two_lines)))  # locks OLD, then waits on NEW
    _until(lambda: _waiting_on_locks() == 2)
    release.set()
    [thread.join(timeout=60) for thread in threads]
    assert failures == []
    level_old, level_new = StockLevel.objects.get(warehouse=old), StockLevel.objects.get(warehouse=new)
    assert (level_old.reserved, level_new.reserved) == (3, 1)


def test_an_import_receives_into_several_warehouses_in_lock_order(tenant):
    """An import's receipts lock stock levels by (product, warehouse) as a reservation does, whatever the warehouses'
    codes: it must not hold a later product's level while it waits for an earlier one."""
    from inventory import importing

    first_code, second_code = warehouse(tenant, "A"), warehouse(tenant, "B")
    earlier, later = new_product(tenant, sku="EARLY"), new_product(tenant, sku="LATE")
    stock.receive(tenant=tenant, warehouse=second_code, lines=[(earlier, 1)])
    stock.receive(tenant=tenant, warehouse=first_code, lines=[(later, 1)])
    text = "sku,name,price,warehouse,quantity\n" + "".join(
        f"{p.sku},{p.name},{p.price},{code},1\n" for p, code in ((later, "A"), (earlier, "B"))
    )

    def run_import():
        assert importing.apply(tenant=tenant, text=text)[1] is not None

    assert_levels_locked_in_product_order(tenant, earlier, later, run_import)

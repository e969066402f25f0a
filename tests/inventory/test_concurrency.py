"""No interleaving of requests reserves more than is on hand: real PostgreSQL, one connection per thread."""

import pytest
from django.db.models import Sum

from inventory import services as stock
from inventory.models import Reservation, StockLevel
from inventory.selectors import ledger_drift
from orders.models import Order, OrderLine
from orders.services.reservations import release_order, reserve_order
from tests.concurrency import run_together

from .helpers import SYSTEM, lines_for, order_for, stocked, warehouse

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS, BUYERS, ON_HAND = 5, 40, 10


def test_forty_direct_reservations_outside_any_transaction_reserve_exactly_ten(tenant):
    """The service called on its own (autocommit: the statement is its own transaction), as bench/reserve.py does."""
    item, main = stocked(tenant, ON_HAND, sku="HOT-2")
    orders = [order_for(tenant, item, 1, name=f"Direct {n}") for n in range(BUYERS)]
    demands = [stock.Demand(order.lines.get().pk, item.pk, 1) for order in orders]
    for round_ in range(ROUNDS):
        run_together(lambda d: stock.reserve(tenant=tenant, demands=[d]), demands, tenant=tenant)
        assert StockLevel.objects.get(product=item, warehouse=main).reserved == ON_HAND, f"round {round_}"
        assert Reservation.objects.filter(product=item).aggregate(s=Sum("quantity"))["s"] == ON_HAND
        Reservation.objects.filter(product=item).delete()
        StockLevel.objects.filter(product=item).update(reserved=0)


def test_forty_buyers_of_ten_units_reserve_exactly_ten(tenant):
    item, main = stocked(tenant, ON_HAND, sku="HOT-1")
    order_ids = [order_for(tenant, item, 1, name=f"Buyer {n}").pk for n in range(BUYERS)]
    for round_ in range(ROUNDS):  # the same buyers race again once every unit is given back
        run_together(lambda pk: reserve_order(order=Order.objects.get(pk=pk), actor=SYSTEM), order_ids, tenant=tenant)

        level = StockLevel.objects.get(product=item, warehouse=main)
        assert (level.on_hand, level.reserved) == (ON_HAND, ON_HAND), f"round {round_}"
        assert Reservation.objects.filter(product=item).aggregate(s=Sum("quantity"))["s"] == ON_HAND
        assert OrderLine.objects.filter(order_id__in=order_ids).aggregate(s=Sum("reserved"))["s"] == ON_HAND
        assert OrderLine.objects.filter(order_id__in=order_ids, reserved=1).count() == ON_HAND

        for order in Order.objects.filter(pk__in=order_ids, lines__reserved__gt=0):
            release_order(order=order, actor=SYSTEM)
        assert StockLevel.objects.get(pk=level.pk).reserved == 0
    assert ledger_drift(tenant=tenant) == []


def test_buyers_of_two_products_across_two_warehouses_never_oversell_or_deadlock(tenant):
    """Each buyer wants both products, listed in opposite orders: fixed lock order means no deadlock."""
    north = warehouse(tenant, "NORTH", priority=200)
    tee, main = stocked(tenant, 6, sku="TEE")
    mug, _ = stocked(tenant, 4, sku="MUG", where=main)
    stock.receive(tenant=tenant, warehouse=north, lines=[(tee, 3), (mug, 5)])
    buyers = []
    for n in range(30):
        lines = lines_for(tenant, [tee, mug] if n % 2 else [mug, tee])
        buyers.append([stock.Demand(ln.pk, ln.product_id, 1) for ln in lines])

    def buy(demands):
        from django.db import transaction

        with transaction.atomic():
            stock.reserve(tenant=tenant, demands=demands)

    run_together(buy, buyers, tenant=tenant)

    for product, total in ((tee, 9), (mug, 9)):
        levels = StockLevel.objects.filter(product=product)
        assert sum(lv.reserved for lv in levels) == total
        assert all(0 <= lv.reserved <= lv.on_hand for lv in levels)
        assert Reservation.objects.filter(product=product).aggregate(s=Sum("quantity"))["s"] == total

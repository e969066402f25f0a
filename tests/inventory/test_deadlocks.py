"""Two orders taking the same two SKUs in opposite line order, reserved in parallel many times:
no deadlock error and no oversell (rows are locked in one fixed order)."""

import threading

import pytest
from django.db import connections

from inventory.models import StockLevel
from oms import rls
from orders.models import Order, OrderLine
from orders.services import reservations
from tests.orders.helpers import SYSTEM, place_order, stocked_product

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

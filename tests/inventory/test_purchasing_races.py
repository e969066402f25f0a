"""Purchasing under concurrency (real PostgreSQL, one connection per thread)."""

import threading

import pytest
from django.db import connection, connections

from inventory import purchasing
from inventory.models import PurchaseOrder
from oms import rls
from tests.factories import WarehouseFactory
from tests.orders.helpers import stocked_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_purchase_orders_created_at_once_are_both_created(tenant):
    """A purchase order is written in one transaction: its row never shows without its number, so a second one
    created meanwhile cannot collide with it on the shop's unique numbers."""
    WarehouseFactory(tenant=tenant, code="MAIN")
    stocked_product(tenant, sku="TEA", on_hand=0)

    def create():
        return purchasing.create_purchase_order(
            tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 5)]
        )

    failures, second_done = [], threading.Event()

    def create_second():
        try:
            rls.bind(tenant.pk)
            create()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            second_done.set()
            connections.close_all()

    second = threading.Thread(target=create_second)

    def second_before_the_number(execute, sql, params, many, context):
        if sql.startswith('UPDATE "inventory_purchaseorder"') and not second.is_alive() and not second_done.is_set():
            second.start()  # another buyer's purchase order, while this one's row waits for its number
            second_done.wait(timeout=2)  # it may have to wait for this transaction
        return execute(sql, params, many, context)

    with connection.execute_wrapper(second_before_the_number):
        create()
    second.join(timeout=30)
    assert failures == []
    numbers = sorted(PurchaseOrder.objects.filter(tenant=tenant).values_list("number", flat=True))
    assert len(numbers) == 2 and all(n.startswith("PO-") for n in numbers)

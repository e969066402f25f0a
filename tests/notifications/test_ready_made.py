"""The four ready-made trigger templates, end to end through the outbox."""

import pytest

from inventory import services as stock
from notifications.models import Task, TriggerRun
from notifications.services import triggers
from oms.models import Role
from orders.models import Order
from orders.services import editing, families, reservations
from orders.services.payments import record_payment
from tests.factories import WarehouseFactory, make_member

from .helpers import SYSTEM, drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_delivery_problem_creates_a_task_for_the_manager(tenant):
    trigger = triggers.create_from_template(tenant=tenant, code="delivery-problem-task")
    manager = make_member(tenant, Role.MANAGER)
    product = stocked_product(tenant, on_hand=3)
    order = place_order(tenant, [(product, 1)])
    Order.objects.filter(pk=order.pk).update(manager=manager)
    order = move(order, "confirmed")
    reservations.reserve_order(order=order, actor=SYSTEM)
    order = move(order, "assembling", "packed")
    for fact in ("packing_verified_at", "handed_over_at"):
        editing.record_shipment_fact(order=order, fact=fact, actor=SYSTEM)
    order = move(order, "handed-over", "in-transit", "delivery-problem")
    drain()
    task = Task.objects.get()
    assert task.assignee == manager and task.order == order and task.due_at is not None
    assert TriggerRun.objects.get(trigger=trigger).outcome == "done"


def test_paid_order_goes_to_assembly(tenant):
    triggers.create_from_template(tenant=tenant, code="paid-to-assembly")
    product = stocked_product(tenant, on_hand=3)
    order = place_order(tenant, [(product, 2)])
    drain()
    record_payment(order=order, amount=order.total, method="card", actor=SYSTEM)
    drain()
    order.refresh_from_db()
    assert order.status.code == "assembling" and order.lines.get().reserved == 2


def test_refused_order_tags_the_customer_bad(tenant):
    triggers.create_from_template(tenant=tenant, code="refused-tags-bad")
    product = stocked_product(tenant, on_hand=3)
    order = place_order(tenant, [(product, 1)])
    order = move(order, "confirmed")
    reservations.reserve_order(order=order, actor=SYSTEM)
    order = move(order, "assembling", "packed")
    for fact in ("packing_verified_at", "handed_over_at"):
        editing.record_shipment_fact(order=order, fact=fact, actor=SYSTEM)
    move(order, "handed-over", "in-transit", "refused")
    drain()
    order.customer.refresh_from_db()
    assert order.customer.tags == ["BAD"]


def test_waiting_split_off_orders_are_reserved_oldest_first_when_stock_arrives(tenant):
    triggers.create_from_template(tenant=tenant, code="reserve-on-arrival")
    warehouse = WarehouseFactory(tenant=tenant)
    product = stocked_product(tenant, on_hand=2, warehouse=warehouse)
    first = place_order(tenant, [(product, 3)])
    reservations.reserve_order(order=first, actor=SYSTEM)  # takes both units
    older_child = families.split_unavailable(order=first, actor=SYSTEM)
    second = place_order(tenant, [(product, 1)])
    drain()
    stock.receive(tenant=tenant, warehouse=warehouse, lines=[(product, 1)])
    drain()
    assert older_child.status.code == "awaiting-stock"
    assert older_child.lines.get().reserved == 1
    assert second.lines.get().reserved == 0  # not a split-off order

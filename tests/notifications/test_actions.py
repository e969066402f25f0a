"""Each trigger action, run the way the worker runs it: from the outbox after the change."""

import pytest

from notifications.models import Alert, MessageLog, Task, Trigger, TriggerRun, WebhookDelivery
from notifications.services import triggers, webhooks
from oms.models import Role
from orders.models import ActivityKind, Order, OrderActivity
from orders.services.payments import record_payment
from tests.factories import WarehouseFactory, make_member
from tests.rls_support import within_tenant

from .helpers import SYSTEM, drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


@within_tenant
def make_trigger(tenant, actions, kind="order.status_changed", conditions=None, name="t"):
    return triggers.save_trigger(
        tenant=tenant,
        name=name,
        event_kind=kind,
        conditions=conditions if conditions is not None else [{"field": "to_status", "op": "eq", "value": "confirmed"}],
        actions=actions,
        is_active=True,
    )


@pytest.fixture
def order(tenant):
    product = stocked_product(tenant, on_hand=5)
    return place_order(tenant, [(product, 2)], customer_email="c@example.test", customer_phone="+7 900 000 00 00")


def confirm(order):
    drain()
    order = move(order, "confirmed")
    drain()
    order.refresh_from_db()
    return order


def test_change_status(tenant, order):
    make_trigger(tenant, [{"type": "change_status", "value": "awaiting-stock"}])
    assert confirm(order).status.code == "awaiting-stock"
    run = TriggerRun.objects.get()
    assert run.outcome == "done" and run.depth == 0


def test_change_status_that_an_invariant_blocks_is_logged_not_forced(tenant):
    product = stocked_product(tenant, on_hand=0)
    order = place_order(tenant, [(product, 1)])
    make_trigger(tenant, [{"type": "change_status", "value": "assembling"}])
    assert confirm(order).status.code == "confirmed"
    run = TriggerRun.objects.get()
    assert run.outcome == "failed" and "assembly" in run.results[0]["note"]


def test_create_task_for_the_orders_manager_with_due_date(tenant, order):
    manager = make_member(tenant, Role.MANAGER)
    Order.objects.filter(pk=order.pk).update(manager=manager)
    make_trigger(tenant, [{"type": "create_task", "value": "manager", "text": "Call", "hours": "4"}])
    confirm(order)
    task = Task.objects.get()
    assert task.assignee == manager and task.order_id == order.pk and task.due_at is not None
    assert Alert.objects.filter(user=manager, title__contains="Call").exists()


def test_create_task_for_a_role(tenant, order):
    make_trigger(tenant, [{"type": "create_task", "value": "role:packer", "text": "Pack first"}])
    confirm(order)
    task = Task.objects.get()
    assert task.assignee is None and task.role == "packer"


def test_alert_users_goes_to_every_manager_when_unassigned(tenant, order):
    first, second = make_member(tenant, Role.MANAGER), make_member(tenant, Role.MANAGER)
    make_member(tenant, Role.PACKER)
    make_trigger(tenant, [{"type": "alert", "value": "manager", "text": "Look"}])
    confirm(order)
    assert set(Alert.objects.values_list("user_id", flat=True)) == {first.pk, second.pk}


def test_email_customer_from_template(tenant, order, mailoutbox):
    make_trigger(tenant, [{"type": "email_customer", "value": "order-accepted"}])
    confirm(order)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["c@example.test"]
    assert order.number in mailoutbox[0].subject
    assert "/alerts/track/" in mailoutbox[0].body
    assert OrderActivity.objects.filter(order=order, kind=ActivityKind.MESSAGE).exists()


def test_sms_customer_from_template(tenant, order):
    make_trigger(tenant, [{"type": "sms_customer", "value": "shipped"}])
    confirm(order)
    log = MessageLog.objects.get()
    assert log.channel == "sms" and log.ok and log.to.startswith("+7") and "/alerts/track/" in log.body


def test_tag_customer_and_tag_order(tenant, order):
    make_trigger(tenant, [{"type": "tag_customer", "value": "bad"}, {"type": "tag_order", "value": "watch"}])
    order = confirm(order)
    order.customer.refresh_from_db()
    assert order.customer.tags == ["BAD"] and order.tags == ["watch"]


def test_call_a_webhook(tenant, order, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    endpoint, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/x", events=["order.created"])
    make_trigger(tenant, [{"type": "webhook", "value": str(endpoint.pk)}])
    confirm(order)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, message__kind="order.status_changed")
    assert delivery.state == "pending"


def test_reserve_stock_and_split_unavailable(tenant):
    available = stocked_product(tenant, on_hand=5)
    missing = stocked_product(tenant, on_hand=0)
    order = place_order(tenant, [(available, 2), (missing, 1)])
    make_trigger(tenant, [{"type": "reserve_stock"}, {"type": "split_unavailable"}])
    confirm(order)
    assert [ln.reserved for ln in order.lines.all()] == [2]
    child = Order.objects.get(parent=order)
    assert child.status.code == "awaiting-stock" and child.lines.get().product == missing


def test_an_action_needing_an_order_fails_cleanly_on_a_stock_event(tenant):
    make_trigger(tenant, [{"type": "tag_order", "value": "x"}], kind="stock.received", conditions=[])
    stocked_product(tenant, on_hand=3, warehouse=WarehouseFactory(tenant=tenant))
    drain()
    run = TriggerRun.objects.get()
    assert run.outcome == "failed" and "needs an order" in run.results[0]["note"]


def test_a_failing_action_does_not_stop_the_next(tenant, order):
    from notifications.models import MessageTemplate

    make_trigger(tenant, [{"type": "email_customer", "value": "delivered"}, {"type": "tag_order", "value": "x"}])
    MessageTemplate.objects.filter(tenant=tenant, code="delivered").delete()  # gone after the trigger was saved
    order = confirm(order)
    assert order.tags == ["x"]
    assert TriggerRun.objects.get().outcome == "partial"


def test_switched_off_and_other_tenants_triggers_do_not_run(tenant, other_tenant, order):
    trigger = make_trigger(tenant, [{"type": "tag_order", "value": "x"}])
    triggers.set_trigger_active(trigger=trigger, active=False)
    make_trigger(other_tenant, [{"type": "tag_order", "value": "y"}])
    assert confirm(order).tags == []
    assert not TriggerRun.objects.exists()


def test_payment_change_is_an_event_kind(tenant, order):
    make_trigger(
        tenant,
        [{"type": "tag_order", "value": "paid"}],
        kind="order.payment_changed",
        conditions=[{"field": "payment_status", "op": "eq", "value": "paid"}],
    )
    drain()
    record_payment(order=order, amount=order.total, method="card", actor=SYSTEM)
    drain()
    order.refresh_from_db()
    assert order.tags == ["paid"]
    assert Trigger.objects.get().runs.count() == 1

"""Triggers ask the order's state machine (django-fsm) whether a move can happen, instead of a copy of it."""

import pytest

from notifications.services import triggers
from orders.errors import TransitionBlocked
from orders.models import Group, OrderStatus
from orders.services import statuses
from tests.shipments.helpers import handed_to_courier

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db


def change_status_trigger(tenant, to_code):
    return triggers.save_trigger(
        tenant=tenant,
        name=f"to {to_code}",
        event_kind="order.status_changed",
        conditions=[],
        actions=[{"type": "change_status", "value": to_code}],
        is_active=True,
    )


def test_dry_run_says_completing_is_blocked_until_delivery_is_confirmed(tenant):
    order, _, _ = handed_to_courier(tenant)
    assert order.group == Group.DELIVERY and order.delivered_at is None
    dry = triggers.dry_run(trigger=change_status_trigger(tenant, "delivered"), order=order)
    assert dry["actions"] == ["Change status to 'Delivered' — blocked: Delivery has not been confirmed."]
    with pytest.raises(TransitionBlocked):
        statuses.change_status(order=order, to_code="delivered", actor=SYSTEM, skip_matrix=True)


@pytest.mark.parametrize("to_code", ["confirmed", "assembling", "handed-over", "delivered", "cancelled"])
def test_dry_run_and_the_status_service_agree_on_every_group(tenant, to_code):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 1)])  # new, nothing reserved
    target = OrderStatus.objects.get(tenant=tenant, code=to_code)
    described = triggers.dry_run(trigger=change_status_trigger(tenant, to_code), order=order)["actions"][0]
    allowed = statuses.can_enter_group(order, target.group)
    try:
        statuses.change_status(order=order, to_code=to_code, actor=SYSTEM, skip_matrix=True)
        moved = True
    except TransitionBlocked:
        moved = False
    assert moved == allowed == ("blocked" not in described)

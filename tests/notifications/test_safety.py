"""Chains are bounded, and a trigger runs at most once per event."""

import pytest

from notifications.models import RunOutcome, TriggerRun
from notifications.services import triggers
from oms import events
from oms.models import Event, EventHandled
from orders.models import ActivityKind, OrderActivity

from .helpers import drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def ping_pong(tenant):
    for src, dst in (("confirmed", "awaiting-stock"), ("awaiting-stock", "confirmed")):
        triggers.save_trigger(
            tenant=tenant,
            name=f"{src} → {dst}",
            event_kind="order.status_changed",
            conditions=[{"field": "to_status", "op": "eq", "value": src}],
            actions=[{"type": "change_status", "value": dst}],
            is_active=True,
        )


def test_triggers_that_fire_each_other_stop_at_the_depth_limit(tenant):
    ping_pong(tenant)
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    move(order, "confirmed")
    drain(rounds=100)
    changes = OrderActivity.objects.filter(order=order, kind=ActivityKind.STATUS).count()
    assert changes == 1 + triggers.MAX_DEPTH  # the person's move, then one per allowed level
    stopped = TriggerRun.objects.get(outcome=RunOutcome.DEPTH_LIMIT)
    assert stopped.depth == triggers.MAX_DEPTH
    depths = sorted(e.payload.get("_depth", 0) for e in Event.objects.filter(kind="order.status_changed"))
    assert depths == list(range(triggers.MAX_DEPTH + 1))
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()  # nothing keeps going


def test_a_trigger_runs_at_most_once_per_event_even_when_dispatched_again(tenant):
    triggers.save_trigger(
        tenant=tenant,
        name="tag",
        event_kind="order.created",
        conditions=[],
        actions=[{"type": "tag_order", "value": "seen"}],
        is_active=True,
    )
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    event = Event.objects.get(kind="order.created", payload__order_id=order.pk)
    drain()
    # a second dispatch (a retry, a duplicate message) and even a lost EventHandled row do not repeat it
    events.dispatch(event.pk)
    EventHandled.objects.filter(event=event).delete()
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    events.dispatch(event.pk)
    assert TriggerRun.objects.filter(event=event).count() == 1
    assert OrderActivity.objects.filter(order=order, kind=ActivityKind.FIELDS).count() == 1


@pytest.mark.parametrize("value", ["NaN", "sNaN", "-nan"])
def test_a_number_that_is_not_one_is_refused_and_a_stored_one_fails_only_its_own_trigger(tenant, value):
    """Decimal reads "NaN" as a number, and comparing with it raises: that must not crash the event's other triggers."""
    from notifications.services.rules import validate

    condition = {"field": "total", "op": "gt", "value": value}
    triggers.save_trigger(
        tenant=tenant,
        name="tag",
        event_kind="order.created",
        conditions=[],
        actions=[{"type": "tag_order", "value": "seen"}],
        is_active=True,
    )
    # one saved before the check existed
    broken = triggers.Trigger.objects.create(
        tenant=tenant,
        name="big",
        event_kind="order.created",
        conditions=[condition],
        actions=[{"type": "tag_order", "value": "big"}],
    )
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    event = Event.objects.get(kind="order.created", payload__order_id=order.pk)
    drain()
    event.refresh_from_db()
    assert event.dispatched_at is not None and not event.last_error
    order.refresh_from_db()
    assert order.tags == ["seen"]
    assert not TriggerRun.objects.filter(trigger=broken).exists()  # its condition does not hold
    assert validate([condition], [{"type": "tag_order", "value": "big"}])  # and a new one is refused

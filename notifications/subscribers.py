"""Reactions to events from the outbox. Registration order is run order: facts first, then triggers, then webhooks."""

from oms.events import subscribe

from .models import EVENT_KIND_VALUES
from .services import sla, tracking, triggers, webhooks


def keep_deadline(event) -> None:
    order_id = event.payload.get("order_id")
    if isinstance(order_id, int):
        sla.sync_deadline(order_id=order_id, tenant_id=event.tenant_id)


def keep_shipment_info(event) -> None:
    order_id = event.payload.get("order_id")
    if isinstance(order_id, int):
        tracking.record_shipment_info(tenant_id=event.tenant_id, order_id=order_id, info=event.payload)


def register() -> None:
    subscribe("shipment.status_changed", keep_shipment_info, name="notifications.tracking")
    for kind in ("order.created", "order.status_changed"):
        subscribe(kind, keep_deadline, name="notifications.sla")
    for kind in EVENT_KIND_VALUES:
        subscribe(kind, triggers.handle_event, name="notifications.triggers")
        subscribe(kind, webhooks.enqueue_for_subscribers, name="notifications.webhooks")

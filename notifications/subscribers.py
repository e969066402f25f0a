"""Reactions to events from the outbox. Registration order is run order: facts first, then triggers, then webhooks."""

from oms.event_catalogue import CATALOGUE, OrderCreated, OrderStatusChanged, ShipmentStatusChanged
from oms.events import subscribe

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
    subscribe(ShipmentStatusChanged, keep_shipment_info, name="notifications.tracking")
    for kind in (OrderCreated, OrderStatusChanged):
        subscribe(kind, keep_deadline, name="notifications.sla")
    for kind in CATALOGUE:
        subscribe(kind, triggers.handle_event, name="notifications.triggers")
        subscribe(kind, webhooks.enqueue_for_subscribers, name="notifications.webhooks")

"""Tracking polls: fetch a carrier's events outside any lock, then store the new ones and move the order.

Polls are spread over time (each shipment's next poll is jittered by its id), back off exponentially on errors,
and a delivered or returned shipment is never polled again (its next_poll_at is cleared; a CHECK holds that).
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from oms.actors import Actor
from oms.event_catalogue import ShipmentStatusChanged
from oms.events import record_event
from orders.errors import TransitionBlocked, TransitionNotAllowed
from orders.services.statuses import change_status

from .. import locks
from ..carriers import RemoteEvent, adapter_for
from ..errors import CarrierError
from ..models import FINAL_STATES, HolderKind, Shipment, ShipmentState, TrackingEvent
from .common import Holder, mapped_status, record_transfer, settings_for
from .custody import confirm_delivery

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("tracking")
MAX_BACKOFF = datetime.timedelta(hours=6)
POLL_BATCH = 200  # polls a minute's sweep enqueues at most


def next_poll(shipment: Shipment, now: datetime.datetime) -> datetime.datetime:
    interval = shipment.carrier.poll_interval_seconds
    jitter = (shipment.pk * 7919) % max(interval // 5, 1)  # spreads shipments made at the same moment
    return now + datetime.timedelta(seconds=interval + jitter)


def backoff(shipment: Shipment, failures: int, now: datetime.datetime) -> datetime.datetime:
    base = datetime.timedelta(seconds=shipment.carrier.poll_interval_seconds)
    return now + min(base * (2 ** min(failures, 10)), MAX_BACKOFF)


def poll_shipment(*, shipment_id: int) -> Shipment | None:
    """Poll one due shipment. Safe to run twice: events are unique per shipment, final shipments are skipped."""
    shipment = Shipment.objects.select_related("carrier").filter(pk=shipment_id).first()
    if shipment is None or shipment.state in FINAL_STATES or shipment.next_poll_at is None:
        return shipment
    if shipment.next_poll_at > timezone.now():
        return shipment  # polled meanwhile (a duplicate task): not due again yet
    try:
        events = adapter_for(shipment.carrier).fetch_events(
            tracking_number=shipment.tracking_number, created_at=shipment.created_at
        )
        return apply_events(shipment_id=shipment_id, events=events)
    except CarrierError as exc:
        return _record_failure(shipment_id, str(exc))
    except Exception as exc:
        # Anything else (an answer no adapter foresaw) still backs off: left due, the shipment would be polled every
        # minute for good. The error is logged for us to fix.
        logger.exception("Polling shipment %s failed", shipment_id)
        return _record_failure(
            shipment_id, gettext("The poll failed unexpectedly (%(error)s).") % {"error": type(exc).__name__}
        )


@transaction.atomic
def _record_failure(shipment_id: int, error: str) -> Shipment | None:
    shipment = locks.lock_shipment(shipment_id)
    if shipment is None or shipment.state in FINAL_STATES:
        return shipment
    now = timezone.now()
    shipment.poll_failures += 1
    shipment.last_error = error[:2000]
    shipment.last_polled_at = now
    shipment.next_poll_at = backoff(shipment, shipment.poll_failures, now)
    shipment.save(update_fields=["poll_failures", "last_error", "last_polled_at", "next_poll_at"])
    return shipment


@transaction.atomic
def apply_events(*, shipment_id: int, events: list[RemoteEvent]) -> Shipment | None:
    """Store events not seen before; the latest one sets the shipment's state and, by the tenant's mapping,
    the order's status (delivered also confirms delivery and ships the stock out)."""
    shipment = locks.lock_order_and_shipment(shipment_id)
    if shipment is None or shipment.state in FINAL_STATES:
        return shipment
    now = timezone.now()
    known = dict(TrackingEvent.objects.filter(shipment=shipment).values_list("external_id", "at"))
    fresh = [e for e in sorted(events, key=lambda e: e.at) if e.external_id not in known]
    for event in fresh:
        try:
            with transaction.atomic():
                TrackingEvent.objects.create(
                    tenant_id=shipment.tenant_id,
                    shipment=shipment,
                    external_id=event.external_id,
                    state=event.state,
                    raw_status=event.raw_status,
                    reason=event.reason,
                    at=event.at,
                )
        except IntegrityError:
            continue
    previous = shipment.state
    # An event older than one already stored (a scan the carrier reports late) is kept but moves nothing back.
    newest = fresh[-1] if fresh and all(fresh[-1].at >= at for at in known.values()) else None
    if newest is not None:
        shipment.state = newest.state
    shipment.poll_failures = 0
    shipment.last_polled_at = now
    shipment.last_error = newest.reason if newest is not None and newest.state == ShipmentState.ERROR else ""
    shipment.next_poll_at = None if shipment.state in FINAL_STATES else next_poll(shipment, now)
    shipment.save(update_fields=["state", "poll_failures", "last_polled_at", "last_error", "next_poll_at"])
    if shipment.state != previous:
        _move_order(shipment, previous)
    return shipment


def _move_order(shipment: Shipment, previous: str) -> None:
    order = locks.lock_order(shipment.order)
    record_event(
        tenant=shipment.tenant,
        event=ShipmentStatusChanged(
            order_id=order.pk,
            number=order.number,
            shipment_id=shipment.pk,
            tracking_number=shipment.tracking_number,
            from_state=previous,
            state=shipment.state,
        ),
    )
    mapping = settings_for(shipment.tenant_id).tracking_status_map or {}
    target = mapped_status(order.tenant_id, mapping.get(shipment.state, ""))
    try:
        with transaction.atomic():
            if shipment.state == ShipmentState.DELIVERED:
                confirm_delivery(order=order, actor=SYSTEM, note=f"{shipment.carrier.name} {shipment.tracking_number}")
                # as a courier's delivery does: custody passes from the carrier to the customer
                customer = Holder(kind=HolderKind.CUSTOMER, label=order.customer.name or "Customer")
                record_transfer(order=order, to=customer, actor=SYSTEM, note="delivered")
            elif target is not None and target.pk != order.status_id:
                change_status(order=order, to_code=target.code, actor=SYSTEM, skip_matrix=True)
    except (TransitionBlocked, TransitionNotAllowed) as exc:
        # The carrier's news is kept on the shipment; the order stays where it is and someone can look.
        Shipment.objects.filter(pk=shipment.pk).update(last_error=f"Order not moved: {exc.message}"[:2000])

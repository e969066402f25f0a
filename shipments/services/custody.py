"""Custody by scan: a parcel passes from the warehouse to a courier or carrier only at a handover scan.

Handing over is the one path that records `handed_over_at`, which the orders module requires before an order may
enter the delivery group; so nothing else can move an order into delivery.
"""

import logging
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from inventory import services as stock
from oms import http
from oms.actors import Actor
from oms.db import retry_on_conflict
from oms.event_catalogue import ShipmentStatusChanged
from oms.events import record_event
from orders.models import Group, Order, OrderStatus
from orders.purposes import StatusPurpose
from orders.services.editing import record_shipment_fact
from orders.services.statuses import change_status

from .. import locks
from ..carriers import ShipmentRequest, adapter_for
from ..errors import AlreadyHandedOver, CarrierError, HandoverRefused
from ..models import Carrier, CarrierKind, HolderKind, Route, RouteStop, Shipment
from .common import Holder, current_holder, delivery_status, local_datetime, record_transfer, settings_for, user_label

logger = logging.getLogger(__name__)
# Longer than any carrier call may take (oms.http bounds each), so a second scan waits out the first booking.
BOOKING_GUARD_SECONDS = int(http.TOTAL_TIMEOUT + http.CONNECT_TIMEOUT + 15)


@dataclass
class Handover:
    order: Order
    stop: RouteStop | None = None
    shipment: Shipment | None = None


def _check_handover(order: Order, *, courier=None, carrier=None) -> None:
    if order.packing_verified_at is None:
        raise HandoverRefused(gettext("Order %(number)s has not been packed by scan yet.") % {"number": order.number})
    if order.group not in (Group.ASSEMBLY, Group.DELIVERY):
        raise HandoverRefused(
            gettext("Order %(number)s is '%(status)s'; it cannot be handed over.")
            % {"number": order.number, "status": order.status.name}
        )
    holder = current_holder(order)
    same = (courier is not None and holder.kind == HolderKind.COURIER and holder.user == courier) or (
        carrier is not None and holder.kind == HolderKind.CARRIER and holder.carrier == carrier
    )
    if same:
        raise AlreadyHandedOver(
            gettext("Order %(number)s is already handed over to %(label)s.")
            % {"number": order.number, "label": holder.label}
        )
    if holder.kind != HolderKind.WAREHOUSE:
        raise HandoverRefused(
            gettext("Order %(number)s is already with %(label)s; it must be scanned back first.")
            % {"number": order.number, "label": holder.label}
        )


def amount_to_collect(order: Order):
    """Cash on delivery: what the order's payments leave due (nothing for a prepaid order)."""
    from decimal import Decimal

    return max(order.due, Decimal("0.00"))


def route_for(*, tenant, courier, date=None) -> Route:
    """The courier's route of the day (made on the first handover), with the tenant's departure deadline."""
    date = date or timezone.localdate()
    route = Route.objects.filter(tenant=tenant, courier=courier, date=date).first()
    if route is not None:
        return route
    deadline = local_datetime(date, settings_for(tenant).departure_deadline)
    Route.objects.bulk_create(
        [Route(tenant=tenant, courier=courier, date=date, deadline=deadline)], ignore_conflicts=True
    )
    return Route.objects.get(tenant=tenant, courier=courier, date=date)


def hand_over(*, order: Order, actor: Actor, courier=None, carrier: Carrier | None = None) -> Handover:
    """Record a handover scan: custody passes from the warehouse to `courier` (own couriers: the order joins the
    courier's route of the day) or to `carrier` (a shipment is created with it), and the order enters delivery."""
    if (courier is None) == (carrier is None):
        raise HandoverRefused(gettext("Choose one courier or one carrier to hand over to."))
    if carrier is not None and (carrier.tenant_id != order.tenant_id or not carrier.is_active):
        raise HandoverRefused(gettext("That carrier is not available."))
    _check_handover(order, courier=courier, carrier=carrier)
    if carrier is None or carrier.kind == CarrierKind.OWN:
        return _hand_over_locked(order=order, actor=actor, courier=courier, carrier=carrier, created=None)
    # The carrier's API is called before the lock is taken, so a slow carrier never holds the order row; a second
    # scan of the same parcel meanwhile (a scanner's double Enter) must not book it twice.
    with _one_booking_at_a_time(order):
        try:
            created = adapter_for(carrier).create_shipment(
                ShipmentRequest(
                    reference=order.number,
                    recipient=order.customer.name,
                    phone=order.customer.phone,
                    address=order.delivery_address or order.customer.address,
                    amount_to_collect=str(amount_to_collect(order)),
                )
            )
        except CarrierError as exc:
            raise HandoverRefused(
                gettext("%(name)s refused the shipment: %(error)s") % {"name": carrier.name, "error": exc}
            ) from exc
        return _hand_over_locked(order=order, actor=actor, courier=courier, carrier=carrier, created=created)


@contextmanager
def _one_booking_at_a_time(order: Order):
    """Refuse a carrier handover of an order whose booking is already under way (held in the cache for longer than
    any carrier call may take). With the cache away the handover goes on: the order's lock still lets one win."""
    key = f"shipments:booking:{order.pk}"
    try:
        free = cache.add(key, 1, timeout=BOOKING_GUARD_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is away
        logger.warning("Booking guard of order %s not set", order.pk, exc_info=True)
        free = True
    if not free:
        raise HandoverRefused(
            gettext("Order %(number)s is being handed over to a carrier right now.") % {"number": order.number}
        )
    try:
        yield
    finally:
        with suppress(Exception):
            cache.delete(key)


# Only the transaction is retried: the carrier's booking above is made once, whatever the retries.
@retry_on_conflict()
@transaction.atomic
def _hand_over_locked(*, order, actor, courier, carrier, created) -> Handover:
    order = locks.lock_order(order)
    _check_handover(order, courier=courier, carrier=carrier)
    result = Handover(order=order)
    if courier is not None:
        route = locks.lock_route(route_for(tenant=order.tenant, courier=courier))
        if route.closed_at is not None:
            raise HandoverRefused(
                gettext("%(courier)s's route of today is already closed.") % {"courier": user_label(courier)}
            )
        stop = RouteStop.objects.filter(tenant_id=order.tenant_id, route=route, order=order).first()
        if stop is None:
            position = RouteStop.objects.filter(tenant_id=order.tenant_id, route=route).count() + 1
            stop = RouteStop.objects.create(tenant_id=order.tenant_id, route=route, order=order, position=position)
        else:  # a failed parcel handed to the same courier again today
            stop.result, stop.reason, stop.resolved_at, stop.returned_at = "", "", None, None
            stop.save(update_fields=["result", "reason", "resolved_at", "returned_at"])
        to = Holder(kind=HolderKind.COURIER, user=courier, label=user_label(courier))
        result.stop = stop
    else:
        to = Holder(kind=HolderKind.CARRIER, carrier=carrier, label=carrier.name)
        if created is not None:
            result.shipment = _create_shipment(order=order, carrier=carrier, created=created)
    record_transfer(order=order, to=to, actor=actor, note="handover scan")
    order = record_shipment_fact(order=order, fact="handed_over_at", actor=actor, details={"to": to.label})
    if order.group == Group.ASSEMBLY:
        target = delivery_status(order)
        if target is None:
            raise HandoverRefused(gettext("The shop has no active delivery status."))
        order = change_status(order=order, to_code=target.code, actor=actor, skip_matrix=True)
    result.order = order
    return result


def _create_shipment(*, order, carrier, created) -> Shipment:
    now = timezone.now()
    existing = Shipment.objects.filter(tenant_id=order.tenant_id, order=order).first()
    if existing is not None:  # a parcel that came back and goes out again: a fresh shipment record
        existing.delete()
    shipment = Shipment.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        carrier=carrier,
        tracking_number=created.tracking_number,
        label_pdf=created.label_pdf,
        next_poll_at=now + _first_poll_delay(carrier, order.pk),
    )
    record_event(
        tenant=order.tenant,
        event=ShipmentStatusChanged(
            order_id=order.pk,
            number=order.number,
            shipment_id=shipment.pk,
            tracking_number=shipment.tracking_number,
            state=shipment.state,
        ),
    )
    return shipment


def _first_poll_delay(carrier, seed: int):
    import datetime

    interval = carrier.poll_interval_seconds
    return datetime.timedelta(seconds=interval + (seed * 7919) % max(interval // 2, 1))


@retry_on_conflict()
@transaction.atomic
def return_to_warehouse(*, order: Order, actor: Actor) -> RouteStop:
    """Scan a parcel whose delivery failed back into the warehouse: the courier's custody ends here."""
    order = locks.lock_order(order)
    holder = current_holder(order)
    if holder.kind != HolderKind.COURIER:
        raise HandoverRefused(
            gettext("Order %(number)s is not with a courier (it is with %(label)s).")
            % {"number": order.number, "label": holder.label}
        )
    stop = locks.lock_last_stop_of(order=order, courier=holder.user)
    if stop is None or stop.result != "failed":
        raise HandoverRefused(
            gettext("Order %(number)s has no failed delivery to take back; mark it failed first.")
            % {"number": order.number}
        )
    record_transfer(order=order, to=Holder.warehouse(), actor=actor, frm=holder, note="failed delivery returned")
    stop.returned_at = timezone.now()
    stop.save(update_fields=["returned_at"])
    return stop


def confirm_delivery(*, order: Order, actor: Actor, note: str = "") -> Order:
    """Delivery confirmed (by the courier or the carrier): record the fact, ship the reserved stock out through
    the ledger and move the order to the tenant's delivered status. Caller's transaction, order locked."""
    order = record_shipment_fact(order=order, fact="delivered_at", actor=actor, details={"note": note} if note else {})
    line_ids = list(order.lines.values_list("pk", flat=True))
    stock.consume(tenant=order.tenant, line_ids=line_ids, actor=actor.user if actor.user_id else None)
    target = OrderStatus.objects.filter(tenant_id=order.tenant_id, group=Group.COMPLETE, is_active=True)
    status = target.filter(purpose=StatusPurpose.DELIVERED).first() or target.filter(is_default=True).first()
    if status is not None and status.pk != order.status_id:
        order = change_status(order=order, to_code=status.code, actor=actor, skip_matrix=True)
    return order

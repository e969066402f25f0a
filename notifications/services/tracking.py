"""The customer's tracking page: a signed link per order, and what the customer may see on it."""

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import gettext

from oms import rls
from oms.errors import DomainError
from orders.models import ActivityKind, Group, Order, OrderActivity
from orders.purposes import StatusPurpose, codes_for

from ..models import DeliveryWindow, ShipmentTracking

SALT = "notifications.tracking"


def tracking_token(order: Order) -> str:
    return signing.Signer(salt=SALT).sign_object({"t": order.tenant_id, "o": order.pk}, compress=False)


def tracking_path(order: Order) -> str:
    head, tail = _track_path_around(get_script_prefix())
    return head + quote(tracking_token(order), safe=RFC3986_SUBDELIMS + "/~:@") + tail  # as reverse() quotes it


@functools.lru_cache(maxsize=16)
def _track_path_around(script_prefix: str) -> tuple[str, str]:
    """The page's path before and after its token, reversed once per script prefix: every API answer carries a
    link, and `reverse()` cost it more than signing the token."""
    head, _, tail = reverse("notifications:track", args=[_SLOT]).rpartition(_SLOT)
    return head, tail


_SLOT = "token-goes-here"


def tracking_url(order: Order) -> str:
    return getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/") + tracking_path(order)


def order_for_token(token: str) -> Order | None:
    """The order a link names, or None for anything altered, forged or unknown (the view answers 404).

    The visitor has no session: the signed link names the shop, and the connection is bound to that shop for the
    rest of the request, so row-level security admits this shop's rows only.
    """
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
        tenant_id, order_id = int(data["t"]), int(data["o"])
    except (signing.BadSignature, ValueError, KeyError, TypeError):
        return None
    rls.bind(tenant_id)
    return (
        Order.objects.filter(tenant_id=tenant_id, pk=order_id)
        .select_related("tenant", "customer")
        .prefetch_related("lines__product")
        .first()
    )


@dataclass
class Step:
    key: str
    label: str
    at: datetime | None

    @property
    def done(self) -> bool:
        return self.at is not None


def customer_timeline(order: Order) -> list[Step]:
    """Customer-facing steps only: never an internal status name, comment or note."""
    reached: dict[str, datetime] = {}
    packed_codes = codes_for(order.tenant_id, StatusPurpose.PACKED)
    pickup_codes = codes_for(order.tenant_id, StatusPurpose.AT_PICKUP_POINT)
    for activity in OrderActivity.objects.filter(tenant_id=order.tenant_id, order=order, kind=ActivityKind.STATUS).only(
        "changes", "at"
    ):
        to_code = (activity.changes.get("status") or [None, None])[1]
        to_group = (activity.changes.get("group") or [None, None])[1]
        to_purpose = (activity.changes.get("purpose") or [None, None])[1]
        if to_purpose == StatusPurpose.PACKED or (to_purpose is None and to_code in packed_codes):
            reached.setdefault("packed", activity.at)
        if to_purpose == StatusPurpose.AT_PICKUP_POINT or (to_purpose is None and to_code in pickup_codes):
            reached.setdefault("pickup", activity.at)
        if to_group == Group.CANCEL:
            reached["cancelled"] = activity.at
    steps = [
        Step("accepted", "Order accepted", order.created_at),
        Step("packed", "Packed", order.packing_verified_at or reached.get("packed")),
        Step("handed", "Handed to the courier or carrier", order.handed_over_at),
    ]
    if order.delivery_method and "pickup" in order.delivery_method.lower() or "pickup" in reached:
        steps.append(Step("pickup", "Arrived at the pickup point", reached.get("pickup")))
    steps.append(Step("delivered", "Delivered", order.delivered_at))
    if order.group == Group.CANCEL:
        steps.append(Step("cancelled", "Cancelled", reached.get("cancelled") or order.status_changed_at))
    return steps


def delivery_window(order: Order) -> tuple[date, date] | None:
    window = DeliveryWindow.objects.filter(tenant_id=order.tenant_id, delivery_method=order.delivery_method).first()
    if window is None:
        return None
    start = timezone.localdate(order.created_at)
    return start + timedelta(days=window.days_min), start + timedelta(days=window.days_max)


def shipment_for(order: Order) -> ShipmentTracking | None:
    return ShipmentTracking.objects.filter(tenant_id=order.tenant_id, order=order).first()


TRACKING_FIELDS = ("carrier", "tracking_number", "tracking_url", "pickup_address", "pickup_hours")


def record_shipment_info(*, tenant_id: int, order_id: int, info: dict) -> ShipmentTracking | None:
    """Keep what a `shipment.status_changed` event says about the parcel (only customer-facing fields)."""
    values = {k: str(info[k])[:500] for k in TRACKING_FIELDS if info.get(k)}
    if values.get("tracking_url") and not values["tracking_url"].startswith(("https://", "http://")):
        values.pop("tracking_url")
    if not values or not Order.objects.filter(tenant_id=tenant_id, pk=order_id).exists():
        return None
    tracking, _ = ShipmentTracking.objects.update_or_create(
        tenant_id=tenant_id, order_id=order_id, defaults={**values, "updated_at": timezone.now()}
    )
    return tracking


@transaction.atomic
def save_delivery_window(*, tenant, delivery_method: str, days_min: int, days_max: int) -> DeliveryWindow:
    method = (delivery_method or "").strip()
    if not method or len(method) > 60:
        raise DomainError(gettext("Name the delivery method (at most 60 characters)."))
    if not 0 <= days_min <= days_max <= 365:
        raise DomainError(gettext("Days must satisfy 0 ≤ min ≤ max ≤ 365."))
    window, _ = DeliveryWindow.objects.update_or_create(
        tenant=tenant, delivery_method=method, defaults={"days_min": days_min, "days_max": days_max}
    )
    return window


def delete_delivery_window(*, window: DeliveryWindow) -> None:
    window.delete()


@dataclass
class Part:
    """Another parcel of the same purchase, as the customer sees it: its lines and when they should ship."""

    number: str
    lines: list[tuple[str, int]]
    expected: date | None
    ready: bool


def parts_that_follow(order: Order) -> list[Part]:
    """The family's other open parcels (split-off parts), each with the earliest date its missing stock is due."""
    family = (
        Order.objects.filter(tenant_id=order.tenant_id, root_id=order.root_id or order.pk)
        .exclude(pk=order.pk)
        .exclude(group__in=(Group.COMPLETE, Group.CANCEL))
        .filter(parent__isnull=False)
        .prefetch_related("lines__product")
        .order_by("pk")
    )
    return _parts(order.tenant, list(family))


def this_parcel(order: Order) -> Part:
    return _parts(order.tenant, [order])[0]


def _parts(tenant, orders: list[Order]) -> list[Part]:
    from inventory.transfers import expected_arrivals

    parts = [(member, list(member.lines.all())) for member in orders]
    missing = {ln.product_id for _, lines in parts for ln in lines if ln.reserved < ln.quantity}
    due = expected_arrivals(tenant=tenant, product_ids=missing) if missing else {}
    result = []
    for member, lines in parts:
        short = [ln for ln in lines if ln.reserved < ln.quantity]
        dates = [due.get(ln.product_id, (0, None))[1] for ln in short]
        expected = None if not short or None in dates else max(dates)
        result.append(
            Part(
                number=member.number,
                lines=[(ln.product.name, ln.quantity) for ln in lines],
                expected=expected,
                ready=not short,
            )
        )
    return result

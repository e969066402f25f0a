"""Tenant-scoped reads for the shipment screens, with the joins each one needs."""

import datetime

from django.db.models import Prefetch
from django.utils import timezone

from inventory.models import Reservation
from inventory.services import warehouses_of
from oms.models import Membership, Role
from orders.models import Group, Order, OrderLine

from .models import (
    Carrier,
    CarrierKind,
    CustodyTransfer,
    HolderKind,
    Incident,
    Route,
    RouteStop,
    Shipment,
    TrackingEvent,
)

QUEUE_SIZE = 50


def packing_queue(*, tenant, user=None):
    """Orders waiting for packing, oldest first: in assembly and not yet verified; for a packer limited to some
    warehouses, only orders reserved there."""
    queue = Order.objects.filter(tenant=tenant, group=Group.ASSEMBLY, packing_verified_at__isnull=True)
    allowed = warehouses_of(tenant=tenant, user=user) if user is not None else None
    if allowed is not None:
        reservations = Reservation.objects.filter(tenant=tenant)
        reserved_there = reservations.filter(warehouse_id__in=allowed).values("line_id")
        # as the station (check_packable): every unit reserved there, none held at another warehouse
        reserved_elsewhere = reservations.exclude(warehouse_id__in=allowed).values("line_id")
        queue = queue.filter(lines__pk__in=reserved_there).exclude(lines__pk__in=reserved_elsewhere).distinct()
    return queue.select_related("status", "customer").order_by("created_at", "pk")


def packed_waiting(*, tenant):
    """Packed orders still in the warehouse, waiting for a handover scan."""
    return (
        Order.objects.filter(
            tenant=tenant, group=Group.ASSEMBLY, packing_verified_at__isnull=False, handed_over_at__isnull=True
        )
        .select_related("status", "customer")
        .order_by("packing_verified_at", "pk")
    )


def order_by_number(*, tenant, number: str) -> Order | None:
    number = (number or "").strip()[:40]
    if not number:
        return None
    return Order.objects.filter(tenant=tenant, number=number).select_related("status", "customer").first()


def couriers(*, tenant):
    memberships = Membership.objects.filter(tenant=tenant, role=Role.COURIER, is_active=True).select_related("user")
    return [m.user for m in memberships.order_by("user__username")]


def courier_of_tenant(*, tenant, user_id):
    membership = (
        Membership.objects.filter(tenant=tenant, role=Role.COURIER, is_active=True, user_id=user_id)
        .select_related("user")
        .first()
    )
    return membership.user if membership else None


def carriers(*, tenant, for_handover=True):
    queryset = Carrier.objects.filter(tenant=tenant, is_active=True)
    if for_handover:
        queryset = queryset.exclude(kind=CarrierKind.OWN)
    return queryset.order_by("name")


def custody_chain(*, order):
    return (
        CustodyTransfer.objects.filter(tenant_id=order.tenant_id, order=order)
        .select_related("scanned_by")
        .order_by("at", "pk")
    )


def shipment_of(*, order):
    return (
        Shipment.objects.filter(tenant_id=order.tenant_id, order=order)
        .select_related("carrier")
        .prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("at", "pk")))
        .first()
    )


def stops_of_order(*, order):
    return (
        RouteStop.objects.filter(tenant_id=order.tenant_id, order=order)
        .select_related("route__courier")
        .order_by("route__date", "pk")
    )


def todays_route(*, tenant, courier):
    """The courier's open route: today's, or an earlier one still open (it must be closed first)."""
    today = timezone.localdate()
    return (
        Route.objects.filter(tenant=tenant, courier=courier, date__lte=today)
        .filter(closed_at__isnull=True)
        .order_by("date")
        .first()
        or Route.objects.filter(tenant=tenant, courier=courier, date=today).first()
    )


def route_stops(*, route):
    return (
        RouteStop.objects.filter(tenant_id=route.tenant_id, route=route)
        .select_related("order__customer", "order__status")
        .prefetch_related(Prefetch("order__lines", queryset=OrderLine.objects.with_products()))
        .order_by("position", "pk")
    )


def recent_handovers(*, tenant, user, limit=20):
    since = timezone.now() - datetime.timedelta(hours=12)
    return (
        CustodyTransfer.objects.filter(tenant=tenant, scanned_by=user, at__gte=since)
        .select_related("order")
        .order_by("-at", "-pk")[:limit]
    )


def incidents(*, tenant, open_only=True):
    queryset = Incident.objects.filter(tenant=tenant).select_related("route__courier")
    if open_only:
        queryset = queryset.filter(resolved_at__isnull=True)
    return queryset.order_by("-created_at", "-pk")


def holdings(*, tenant) -> list[dict]:
    """Who is responsible for what right now: parcels out for delivery by their current holder (the last custody
    scan), with the value of their goods, and the cash each courier collected on routes not yet closed."""
    latest = (
        CustodyTransfer.objects.filter(tenant=tenant, order__group=Group.DELIVERY)
        .order_by("order_id", "-at", "-pk")
        .distinct("order_id")
        .values("order_id", "to_kind", "to_user_id", "to_carrier_id", "to_label")
    )
    rows: dict[tuple, dict] = {}
    orders = {
        o["pk"]: o
        for o in Order.objects.filter(tenant=tenant, group=Group.DELIVERY).values(
            "pk", "total", "discount", "delivery_cost"
        )
    }
    for transfer in latest:
        order = orders.get(transfer["order_id"])
        if order is None or transfer["to_kind"] == "warehouse":
            continue
        key = (transfer["to_kind"], transfer["to_user_id"], transfer["to_carrier_id"])
        row = rows.setdefault(
            key, {"label": transfer["to_label"], "kind": transfer["to_kind"], "parcels": 0, "goods": 0, "cash": 0}
        )
        row["parcels"] += 1
        row["goods"] += order["total"] + order["discount"] - order["delivery_cost"]
    for stop in RouteStop.objects.filter(
        tenant=tenant, route__closed_at__isnull=True, amount_collected__isnull=False
    ).values("route__courier_id", "route__courier__username", "amount_collected"):
        key = ("courier", stop["route__courier_id"], None)
        row = rows.setdefault(
            key, {"label": stop["route__courier__username"], "kind": "courier", "parcels": 0, "goods": 0, "cash": 0}
        )
        row["cash"] += stop["amount_collected"]
    for row in rows.values():  # how the holder's kind reads to people
        row["kind_label"] = HolderKind(row["kind"]).label if row["kind"] in HolderKind.values else row["kind"]
    return sorted(rows.values(), key=lambda row: (row["kind"], row["label"]))

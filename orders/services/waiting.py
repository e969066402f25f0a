"""Orders waiting for stock are served the moment it arrives: split-off children first, then the oldest."""

from django.db import transaction
from django.db.models import F, Q, Sum

from oms.actors import Actor
from oms.events import send_task

from ..models import ActivityKind, Group, Order, OrderLine, StatusPurpose
from .activity import log_activity
from .reservations import reserve_order

# Accepted orders only: a new order is reserved when a manager (or a trigger) accepts it, not by a delivery.
WAITING_GROUPS = (Group.APPROVAL, Group.ASSEMBLY)
# Split-off orders were accepted with their parent, whichever group the shop's split-off status belongs to.
WAITING = Q(order__group__in=WAITING_GROUPS) | Q(order__status__purpose=StatusPurpose.SPLIT_TARGET)
BATCH = 500
PURCHASING = Actor.system("purchasing")


def serve_waiting_orders(*, tenant_id: int, product_ids) -> list[int]:
    """Reserve, in turn, every accepted order short of these products; returns the ids of the orders served."""
    waiting = (
        OrderLine.objects.filter(
            WAITING,
            tenant_id=tenant_id,
            product_id__in=list(product_ids),
            reserved__lt=F("quantity"),
        )
        .order_by(F("order__parent_id").asc(nulls_last=True), "order__created_at", "order_id")
        .values_list("order_id", flat=True)
    )
    served, seen = [], set()
    for order_id in waiting[:BATCH]:
        if order_id in seen:
            continue
        seen.add(order_id)
        order = Order.objects.get(pk=order_id, tenant_id=tenant_id)
        before = sum(ln.reserved for ln in order.lines.all())
        order = reserve_order(order=order, actor=PURCHASING)
        if sum(ln.reserved for ln in order.lines.all()) > before:
            served.append(order_id)
    return served


def on_stock_received(event) -> None:
    from oms.models import Tenant

    if not Tenant.objects.filter(pk=event.tenant_id, serve_waiting_on_arrival=True).exists():
        return  # the shop reserves waiting orders by hand (Settings)
    product_ids = [line.get("product_id") for line in event.payload.get("lines", [])]
    product_ids = [pk for pk in product_ids if isinstance(pk, int)]
    if product_ids:  # after the event's bookkeeping commits, in a task of its own
        tenant_id = event.tenant_id
        transaction.on_commit(lambda: _serve_after_commit(tenant_id, product_ids), robust=True)


def _serve_after_commit(tenant_id: int, product_ids: list[int]) -> None:
    from ..tasks import serve_waiting  # tasks import this module

    if not send_task(serve_waiting, tenant_id, product_ids):
        # The event counts as handled now and no sweep looks for this work: do it here rather than lose it.
        serve_waiting_orders(tenant_id=tenant_id, product_ids=product_ids)


def on_expected_date_changed(event) -> None:
    """Each order waiting for the purchase order's products gets a line on its timeline: the date moved."""
    payload = event.payload
    product_ids = [pk for pk in payload.get("product_ids", []) if isinstance(pk, int)]
    waiting = (
        OrderLine.objects.filter(
            tenant_id=event.tenant_id,
            product_id__in=product_ids,
            reserved__lt=F("quantity"),
            order__group__in=(Group.NEW, *WAITING_GROUPS),
        )
        .values_list("order_id", flat=True)
        .distinct()
    )
    text = (
        f"Expected date of purchase order {payload.get('number')} moved: "
        f"{payload.get('from') or 'none'} → {payload.get('to') or 'none'}"
    )
    for order in Order.objects.filter(tenant_id=event.tenant_id, pk__in=list(waiting[:BATCH])):
        log_activity(order=order, kind=ActivityKind.NOTE, actor=PURCHASING, changes={"text": text})


def units_needed(tenant, product_ids) -> dict[int, int]:
    """Units that accepted orders want and do not hold, per product (what inventory's "to reorder" counts)."""
    rows = (
        OrderLine.objects.filter(
            WAITING,
            tenant_id=tenant.pk,
            product_id__in=list(product_ids),
            reserved__lt=F("quantity"),
        )
        .values("product_id")
        .annotate(units=Sum(F("quantity") - F("reserved")))
    )
    return {row["product_id"]: row["units"] for row in rows}

"""Orders waiting for stock are served the moment it arrives: split-off children first, then the oldest."""

from django.db.models import F

from oms.actors import Actor

from ..models import Group, Order, OrderLine
from .reservations import reserve_order

# Accepted orders only: a new order is reserved when a manager (or a trigger) accepts it, not by a delivery.
WAITING_GROUPS = (Group.APPROVAL, Group.ASSEMBLY)
BATCH = 500
STOCK_ARRIVED = Actor.system("stock arrived")


def serve_waiting_orders(*, tenant_id: int, product_ids) -> list[int]:
    """Reserve, in turn, every accepted order short of these products; returns the ids of the orders served."""
    waiting = (
        OrderLine.objects.filter(
            tenant_id=tenant_id,
            product_id__in=list(product_ids),
            reserved__lt=F("quantity"),
            order__group__in=WAITING_GROUPS,
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
        order = reserve_order(order=order, actor=STOCK_ARRIVED)
        if sum(ln.reserved for ln in order.lines.all()) > before:
            served.append(order_id)
    return served


def on_stock_received(event) -> None:
    product_ids = [line.get("product_id") for line in event.payload.get("lines", [])]
    product_ids = [pk for pk in product_ids if isinstance(pk, int)]
    if product_ids:
        serve_waiting_orders(tenant_id=event.tenant_id, product_ids=product_ids)

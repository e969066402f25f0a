"""A returned parcel scanned in at the warehouse: its units go back on hand through the ledger; the order moves to
the shop's status for the purpose "returned"."""

from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from inventory import services as stock
from inventory.models import MoveKind, StockMove
from oms.actors import Actor
from oms.db import retry_on_conflict
from orders.models import ActivityKind, Order, OrderLine
from orders.purposes import StatusPurpose, status_for

from .. import locks
from ..errors import HandoverRefused
from ..models import HolderKind, RouteStop, Shipment, ShipmentState
from .common import Holder, current_holder, record_transfer


@retry_on_conflict()
@transaction.atomic
def receive_return(*, order: Order, actor: Actor) -> Order:
    """Units that left with the parcel come back on hand (a `return` movement per line and warehouse), custody
    returns to the warehouse and the order moves to the status for the purpose "returned"."""
    order = locks.lock_order(order)
    if order.handed_over_at is None:
        raise HandoverRefused(f"Order {order.number} never left the warehouse; there is nothing to receive.")
    if order.status.purpose == StatusPurpose.RETURNED:
        raise HandoverRefused(f"Order {order.number} has already been received back.")
    returned = status_for(order.tenant_id, StatusPurpose.RETURNED)
    if returned is None:
        raise HandoverRefused(
            "The shop has no active status with the purpose “Returned”; set one on the statuses screen."
        )
    lines = list(OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).select_related("product"))
    user = actor.user if actor.user_id else None
    # Reserved units never confirmed as delivered left with the parcel too: ship them out first, then back in.
    stock.consume(tenant=order.tenant, line_ids=[line.pk for line in lines], actor=user)
    OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).update(reserved=0)
    out = defaultdict(int)
    for row in (
        StockMove.objects.filter(
            tenant_id=order.tenant_id,
            order_line_id__in=[line.pk for line in lines],
            kind__in=[MoveKind.SHIPMENT, MoveKind.RETURN],
        )
        .values("order_line_id", "warehouse_id")
        .annotate(net=Sum("quantity"))
    ):
        out[(row["order_line_id"], row["warehouse_id"])] -= row["net"]
    by_id = {line.pk: line for line in lines}
    warehouses = {}
    for (line_id, warehouse_id), units in sorted(out.items()):
        if units <= 0:
            continue
        from inventory.models import Warehouse

        warehouse = warehouses.setdefault(warehouse_id, Warehouse.objects.get(pk=warehouse_id))
        stock.restock_return(
            tenant=order.tenant,
            warehouse=warehouse,
            product=by_id[line_id].product,
            quantity=units,
            actor=user,
            order_line_id=line_id,
            reason=f"returned parcel {order.number}",
        )
    holder = current_holder(order)
    if holder.kind != HolderKind.WAREHOUSE:
        record_transfer(order=order, to=Holder.warehouse(), frm=holder, actor=actor, note="returned parcel received")
    RouteStop.objects.filter(tenant_id=order.tenant_id, order=order, result="failed", returned_at__isnull=True).update(
        returned_at=timezone.now()
    )
    Shipment.objects.filter(tenant_id=order.tenant_id, order=order).update(
        state=ShipmentState.RETURNED, next_poll_at=None
    )
    from orders.services.statuses import change_status

    return change_status(order=order, to_code=returned.code, actor=actor, skip_matrix=True)


@retry_on_conflict()
@transaction.atomic
def write_off_lost_parcel(*, order: Order, actor: Actor, reason: str) -> Order:
    """A parcel that left and will not come back (lost by the carrier, never returned by the customer): the units
    it holds reserved leave stock with a `write-off` movement each, so they stop waiting for a return that never
    comes. Only for a parcel that is out (see `orders.services.statuses.parcel_is_out`)."""
    from orders.services.activity import log_activity
    from orders.services.statuses import parcel_is_out

    order = locks.lock_order(order)
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise HandoverRefused("Say what happened to the parcel (e.g. “lost by the carrier”).")
    if not parcel_is_out(order):
        raise HandoverRefused(f"Order {order.number} has no parcel out: nothing to write off.")
    line_ids = list(OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).values_list("pk", flat=True))
    moves = stock.write_off_reserved(
        tenant=order.tenant,
        line_ids=line_ids,
        reason=f"lost parcel {order.number}: {reason}",
        actor=actor.user if actor.user_id else None,
    )
    OrderLine.objects.filter(pk__in=line_ids).update(reserved=0)
    log_activity(
        order=order,
        kind=ActivityKind.CUSTODY,
        actor=actor,
        changes={"parcel_lost": reason, "units": sum(-move.quantity for move in moves)},
    )
    return order

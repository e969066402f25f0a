"""A returned parcel scanned in at the warehouse: its units go back on hand through the ledger; the order moves to
the shop's status for the purpose "returned"."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from inventory import services as stock
from inventory.models import MoveKind, StockMove
from oms.actors import Actor
from oms.db import retry_on_conflict
from orders.models import ActivityKind, Order, OrderLine
from orders.purposes import StatusPurpose, status_for
from orders.services.activity import log_activity, touch

from .. import locks
from ..errors import HandoverRefused, ReturnRefused
from ..models import (
    CustomerReturn,
    CustomerReturnLine,
    HolderKind,
    ReturnOutcome,
    ReturnState,
    RouteStop,
    Shipment,
    ShipmentState,
    StopResult,
)
from .common import Holder, current_holder, record_transfer

# The ledger movements that take a line's units out of stock and bring them back: shipped, or written off with a
# lost parcel (which may still turn up), and returned.
LEFT_OR_BACK = [MoveKind.SHIPMENT, MoveKind.WRITE_OFF, MoveKind.RETURN]


@retry_on_conflict()
@transaction.atomic
def receive_return(*, order: Order, actor: Actor) -> Order:
    """Units that left with the parcel come back on hand (a `return` movement per line and warehouse), custody
    returns to the warehouse and the order moves to the status for the purpose "returned"."""
    order = locks.lock_order(order)
    if order.handed_over_at is None:
        raise HandoverRefused(
            gettext("Order %(number)s never left the warehouse; there is nothing to receive.")
            % {"number": order.number}
        )
    lines = list(OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).with_products())
    # A status of the purpose "returned" chosen by hand (the matrix allows refused → returned) puts nothing back on
    # the shelf: only a parcel with no units out any more has been received back.
    already_returned = order.status.purpose == StatusPurpose.RETURNED
    if already_returned and not (
        stock.holds_reservations(tenant=order.tenant, line_ids=[line.pk for line in lines])
        or any(units > 0 for units in _units_out(order).values())
    ):
        raise HandoverRefused(gettext("Order %(number)s has already been received back.") % {"number": order.number})
    returned = status_for(order.tenant_id, StatusPurpose.RETURNED)
    if returned is None and not already_returned:
        raise HandoverRefused(
            gettext("The shop has no active status with the purpose “Returned”; set one on the statuses screen.")
        )
    user = actor.user if actor.user_id else None
    # Reserved units never confirmed as delivered left with the parcel too: ship them out first, then back in.
    # The lines' `reserved` follows: shipped out, then back in, it ends at 0 (orders/sql/line_reserved.sql).
    stock.consume(tenant=order.tenant, line_ids=[line.pk for line in lines], actor=user)
    out = defaultdict(int)
    for row in (
        StockMove.objects.filter(
            tenant_id=order.tenant_id,
            order_line_id__in=[line.pk for line in lines],
            kind__in=LEFT_OR_BACK,
        )
        .values("order_line_id", "warehouse_id")
        .annotate(net=Sum("quantity"))
    ):
        out[(row["order_line_id"], row["warehouse_id"])] -= row["net"]
    by_id = {line.pk: line for line in lines}
    warehouses = {}
    # Stock levels are locked by (product, warehouse), as every other locker takes them: no deadlock.
    in_lock_order = sorted(out.items(), key=lambda item: (by_id[item[0][0]].product_id, item[0][1], item[0][0]))
    for (line_id, warehouse_id), units in in_lock_order:
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
    now = timezone.now()
    # Back before the courier resolved the stop: it failed, or the route could never be closed.
    RouteStop.objects.filter(tenant_id=order.tenant_id, order=order, result=StopResult.PENDING).update(
        result=StopResult.FAILED, reason=gettext("Brought back to the warehouse undelivered."), resolved_at=now
    )
    RouteStop.objects.filter(
        tenant_id=order.tenant_id, order=order, result=StopResult.FAILED, returned_at__isnull=True
    ).update(returned_at=now)
    Shipment.objects.filter(tenant_id=order.tenant_id, order=order).update(
        state=ShipmentState.RETURNED, next_poll_at=None
    )
    # Units the customer had announced came back inside the parcel: those returns are in (and refunded if asked),
    # their units already on the shelf with the rest.
    announced = list(
        CustomerReturn.objects.filter(tenant_id=order.tenant_id, order=order, state=ReturnState.EXPECTED).order_by("pk")
    )
    for customer_return in announced:
        lines_back = list(customer_return.lines.select_related("order_line"))
        for line in lines_back:
            line.outcome = ReturnOutcome.RESTOCK
        CustomerReturnLine.objects.bulk_update(lines_back, ["outcome"])
        _close_received(customer_return, order, lines_back, actor)
    if announced:
        order = locks.lock_order(order)  # a refund changed what is paid
    if already_returned:
        return order
    from orders.services.statuses import change_status

    return change_status(order=order, to_code=returned.code, actor=actor, skip_matrix=True)


@retry_on_conflict()
@transaction.atomic
def write_off_lost_parcel(*, order: Order, actor: Actor, reason: str) -> Order:
    """A parcel that left and will not come back (lost by the carrier, never returned by the customer): the units
    it holds reserved leave stock with a `write-off` movement each, so they stop waiting for a return that never
    comes. Only for a parcel that is out (see `orders.services.statuses.parcel_is_out`)."""
    from orders.services.statuses import parcel_is_out

    order = locks.lock_order(order)
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise HandoverRefused(gettext("Say what happened to the parcel (e.g. “lost by the carrier”)."))
    if not parcel_is_out(order):
        raise HandoverRefused(
            gettext("Order %(number)s has no parcel out: nothing to write off.") % {"number": order.number}
        )
    line_ids = list(OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).values_list("pk", flat=True))
    moves = stock.write_off_reserved(
        tenant=order.tenant,
        line_ids=line_ids,
        reason=f"lost parcel {order.number}: {reason}",
        actor=actor.user if actor.user_id else None,
    )
    log_activity(
        order=order,
        kind=ActivityKind.CUSTODY,
        actor=actor,
        changes={"parcel_lost": reason, "units": sum(-move.quantity for move in moves)},
    )
    return order


# --- line-level returns ----------------------------------------------------------------------------------------


def _units_out(order: Order) -> dict[int, int]:
    """Units of each line that left through the ledger and did not come back (shipped or written off with a lost
    parcel, less returned), for the lines that left through it at all."""
    line_ids = list(OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).values_list("pk", flat=True))
    rows = (
        StockMove.objects.filter(tenant_id=order.tenant_id, order_line_id__in=line_ids, kind__in=LEFT_OR_BACK)
        .values("order_line_id")
        .annotate(net=Sum("quantity"), shipped=Count("pk", filter=~Q(kind=MoveKind.RETURN)))
    )
    return {row["order_line_id"]: -row["net"] for row in rows if row["shipped"]}


def returnable(order: Order) -> dict[int, int]:
    """Units of each line the customer may still send back: what was delivered, less what earlier returns named,
    and never more than is still out (a whole parcel received back put its units on the shelf already)."""
    if order.delivered_at is None:
        return {}
    named, expected = defaultdict(int), defaultdict(int)
    for row in (
        CustomerReturnLine.objects.filter(tenant_id=order.tenant_id, customer_return__order=order)
        .values("order_line_id", "customer_return__state")
        .annotate(units=Sum("quantity"))
    ):
        named[row["order_line_id"]] += row["units"]
        if row["customer_return__state"] == ReturnState.EXPECTED:
            expected[row["order_line_id"]] += row["units"]
    out = _units_out(order)
    left = {}
    for pk, quantity in OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).values_list("pk", "quantity"):
        units = quantity - named[pk]
        if pk in out:
            units = min(units, out[pk] - expected[pk])
        if units > 0:
            left[pk] = units
    return left


@retry_on_conflict()
@transaction.atomic
def announce_return(
    *,
    order: Order,
    quantities: dict[int, int],
    reason: str,
    actor: Actor,
    refund_method: str = "",
    exchange: bool = False,
) -> CustomerReturn:
    """The customer sends back these units of these lines (only what was delivered and not yet named by another
    return). With `refund_method`, their value is refunded by that method when they arrive; with `exchange`, an
    order of the same family sends the same units again: at no charge, or at their price when refunded as well."""
    order = locks.lock_order(order)
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ReturnRefused(gettext("Say why the customer sends it back."), field="reason")
    if order.delivered_at is None:
        raise ReturnRefused(
            gettext("Order %(number)s has not been delivered: there is nothing to send back.")
            % {"number": order.number}
        )
    wanted = {int(line_id): int(units) for line_id, units in quantities.items() if int(units or 0) != 0}
    if not wanted:
        raise ReturnRefused(gettext("Choose at least one unit to send back."))
    if any(units < 0 for units in wanted.values()):
        raise ReturnRefused(gettext("A number of units to send back cannot be negative."))
    left = returnable(order)
    for line_id, units in wanted.items():
        if line_id not in left or units > left[line_id]:
            raise ReturnRefused(
                gettext("At most %(count)s unit(s) of that line can still be sent back.")
                % {"count": left.get(line_id, 0)},
                details={"line_id": line_id},
            )
    customer_return = CustomerReturn.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        reason=reason,
        refund_on_receipt=bool(refund_method.strip()),
        refund_method=refund_method.strip()[:60],
        created_by_label=actor.name[:150],
    )
    CustomerReturnLine.objects.bulk_create(
        [
            CustomerReturnLine(tenant_id=order.tenant_id, customer_return=customer_return, order_line_id=pk, quantity=n)
            for pk, n in sorted(wanted.items())
        ]
    )
    if exchange:
        from orders.services.families import copy_order

        # Without a refund the units sent back pay for the exchange: the customer owes nothing again.
        customer_return.exchange = copy_order(
            order=order, actor=actor, quantities=wanted, free_of_charge=not customer_return.refund_on_receipt
        )
        customer_return.save(update_fields=["exchange"])

    log_activity(
        order=order,
        kind=ActivityKind.CUSTODY,
        actor=actor,
        changes={"return_announced": reason, "units": sum(wanted.values())},
    )
    return customer_return


def expected_return_of(order: Order) -> CustomerReturn | None:
    return (
        CustomerReturn.objects.filter(tenant_id=order.tenant_id, order=order, state=ReturnState.EXPECTED)
        .order_by("created_at", "pk")
        .first()
    )


@retry_on_conflict()
@transaction.atomic
def receive_customer_return(
    *, customer_return: CustomerReturn, actor: Actor, write_offs: dict[int, str] | None = None
) -> CustomerReturn:
    """The returned units are in: each line back on the shelf (a `return` movement into the warehouse it left
    from), or, for the lines in `write_offs` (line id → reason), taken in and written off (`return` then
    `write-off`). Refunded if the return asked for it."""
    order = locks.lock_order(customer_return.order)
    customer_return = locks.lock_customer_return(customer_return)
    if customer_return.state != ReturnState.EXPECTED:
        raise ReturnRefused(
            gettext("This return of order %(number)s has already been received.") % {"number": order.number}
        )
    write_offs = {int(k): " ".join(str(v).split())[:200] for k, v in (write_offs or {}).items()}
    lines = list(customer_return.lines.select_related("order_line__product"))
    for line_id, why in write_offs.items():
        if line_id not in {line.order_line_id for line in lines}:
            raise ReturnRefused(gettext("That line is not part of this return."))
        if not why:
            raise ReturnRefused(gettext("Say why the units are written off (e.g. damaged)."), field="write_off_reason")
    out = _units_out(order)
    for line in lines:
        if line.order_line_id in out and out[line.order_line_id] < line.quantity:
            raise ReturnRefused(
                gettext(
                    "The units of %(sku)s in this return are already back in stock (the whole parcel of order "
                    "%(number)s was received back)."
                )
                % {"sku": line.order_line.product.sku, "number": order.number},
                details={"line_id": line.order_line_id},
            )
    user = actor.user if actor.user_id else None
    placed = [
        (line, warehouse, units)
        for line in lines
        for warehouse, units in _warehouses_it_left_from(line.order_line_id, order.tenant, line.quantity)
    ]
    # Stock levels are locked by (product, warehouse), as every other locker takes them: no deadlock.
    for line, warehouse, units in sorted(placed, key=lambda place: (place[0].order_line.product_id, place[1].pk)):
        stock.restock_return(
            tenant=order.tenant,
            warehouse=warehouse,
            product=line.order_line.product,
            quantity=units,
            actor=user,
            order_line_id=line.order_line_id,
            reason=f"customer return {order.number}",
        )
        if line.order_line_id in write_offs:
            stock.write_off(
                tenant=order.tenant,
                warehouse=warehouse,
                product=line.order_line.product,
                quantity=units,
                reason=f"customer return {order.number}: {write_offs[line.order_line_id]}",
                actor=user,
            )
    for line in lines:
        if line.order_line_id in write_offs:
            line.outcome, line.write_off_reason = ReturnOutcome.WRITE_OFF, write_offs[line.order_line_id]
        else:
            line.outcome = ReturnOutcome.RESTOCK
        line.save(update_fields=["outcome", "write_off_reason"])
    _close_received(customer_return, order, lines, actor)
    return customer_return


def _close_received(customer_return: CustomerReturn, order: Order, lines: list, actor: Actor) -> None:
    """The return is in: refunded if it asked for it, marked received and noted on the order."""
    if customer_return.refund_on_receipt:
        # What all refunded returns so far are worth, less what the earlier ones were: the refunds add up to the
        # value of every unit sent back, with no cent of rounding gained per return.
        earlier = _units_sent_back(order)
        value = returned_value(order, earlier + [(line.order_line, line.quantity) for line in lines])
        value -= returned_value(order, earlier) if earlier else Decimal("0.00")
        refundable = min(value, order.paid)
        if refundable > 0:
            from orders.services.payments import record_refund

            customer_return.refund = record_refund(
                order=order, amount=refundable, method=customer_return.refund_method, actor=actor
            )
            touch(order)  # the owners' reports net the refund out: the order changed for their summaries
    customer_return.state, customer_return.received_at = ReturnState.RECEIVED, timezone.now()
    customer_return.received_by_label = actor.name[:150]
    customer_return.save(update_fields=["state", "received_at", "received_by_label", "refund"])
    log_activity(
        order=order,
        kind=ActivityKind.CUSTODY,
        actor=actor,
        changes={"return_received": customer_return.reason, "units": sum(line.quantity for line in lines)},
    )


def value_sent_back(order: Order) -> Decimal:
    """What the units of the order's received returns that asked for the money back were sold for (whether the
    money could be paid back or nothing had been paid). An exchange without a refund replaces goods: not counted."""
    units = _units_sent_back(order)
    return returned_value(order, units) if units else Decimal("0.00")


def _units_sent_back(order: Order) -> list[tuple[OrderLine, int]]:
    """The units of the order's received returns that asked for the money back."""
    lines = CustomerReturnLine.objects.filter(
        tenant_id=order.tenant_id,
        customer_return__order=order,
        customer_return__state=ReturnState.RECEIVED,
        customer_return__refund_on_receipt=True,
    ).select_related("order_line")
    return [(line.order_line, line.quantity) for line in lines]


def returned_value(order: Order, units: list[tuple[OrderLine, int]]) -> Decimal:
    """What the returned units were sold for: each line's amount after its own discount, per unit, less their
    share of the order's discount. Delivery is not given back for a part of the goods."""
    value = sum((line.amount * count / line.quantity for line, count in units), Decimal("0.00"))
    goods = order.goods_total
    if order.discount > 0 and goods > 0:
        value -= order.discount * value / goods
    return max(value, Decimal("0.00")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _warehouses_it_left_from(line_id: int, tenant, quantity: int) -> list[tuple]:
    """Where `quantity` returned units of a line go back: (warehouse, units) into the warehouses they left from, into
    each no more than left it and has not come back yet, in the order they shipped. A line that never shipped through
    the ledger goes back into the shop's first warehouse."""
    from inventory.models import Warehouse

    out, shipped_first = defaultdict(int), {}
    for move in StockMove.objects.filter(tenant=tenant, order_line_id=line_id, kind__in=LEFT_OR_BACK).order_by("pk"):
        out[move.warehouse_id] -= move.quantity
        if move.kind != MoveKind.RETURN:
            shipped_first.setdefault(move.warehouse_id, move.pk)
    places, left = [], quantity
    for warehouse_id in sorted(shipped_first, key=shipped_first.get):
        units = min(out[warehouse_id], left)
        if units > 0:
            places.append((warehouse_id, units))
            left -= units
    if places:
        warehouses = Warehouse.objects.in_bulk([warehouse_id for warehouse_id, _ in places])
        return [(warehouses[warehouse_id], units) for warehouse_id, units in places]
    warehouse = Warehouse.objects.filter(tenant=tenant).order_by("priority", "pk").first()
    if warehouse is None:
        raise ReturnRefused(gettext("The shop has no warehouse to take the units back into."))
    return [(warehouse, quantity)]

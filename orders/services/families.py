"""One order = one shipment: split the unavailable part into a child order, or copy an order."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from inventory import services as stock
from oms.actors import Actor
from oms.db import retry_on_conflict
from oms.event_catalogue import OrderCreated
from oms.events import record_event

from .. import locks
from ..errors import NothingToSplit
from ..models import ActivityKind, Group, Order, OrderLine, OrderStatus
from ..purposes import StatusPurpose, status_for
from . import payments
from .activity import log_activity, recompute_total, touch
from .intake import bump_children_counter, default_status

SPLITTABLE_GROUPS = (Group.NEW, Group.APPROVAL, Group.ASSEMBLY)


def split_status(tenant_id) -> OrderStatus:
    status = status_for(tenant_id, StatusPurpose.SPLIT_TARGET)
    return status or default_status(tenant_id=tenant_id, group=Group.APPROVAL)


def _new_child(*, parent: Order, root: Order, status: OrderStatus) -> Order:
    number = f"{root.number}-{bump_children_counter(root) + 1}"
    return Order.objects.create(
        tenant_id=parent.tenant_id,
        number=number,
        parent=parent,
        root=root,
        channel=parent.channel,
        customer_id=parent.customer_id,
        status=status,
        group=status.group,
        manager_id=parent.manager_id,
        delivery_method=parent.delivery_method,
        delivery_address=parent.delivery_address,
        payment_method=parent.payment_method,
        comment=parent.comment,
        tags=list(parent.tags),
    )


@retry_on_conflict()
@transaction.atomic
def split_unavailable(*, order: Order, actor: Actor) -> Order:
    """Move the lines, or parts of lines, that are not reserved into a new child order; return the child.

    The parent keeps what is reserved. Two concurrent splits of one order split once: the family is locked.
    """
    root, order = locks.lock_family_root_and_order(order)
    if order.group not in SPLITTABLE_GROUPS:
        raise NothingToSplit(gettext("An order in group '%(group)s' cannot be split.") % {"group": order.group})
    lines = list(order.lines.with_products())
    missing = [ln for ln in lines if ln.missing > 0]
    if not missing:
        raise NothingToSplit(gettext("Every line is reserved: there is nothing to split off."))
    if not any(ln.reserved for ln in lines):
        raise NothingToSplit(
            gettext("Nothing is reserved yet: reserve first, or move the whole order to awaiting stock.")
        )
    child = _new_child(parent=order, root=root, status=split_status(order.tenant_id))
    total_before = order.total
    moved, emptied = [], []
    for line in missing:
        # The line's discount stays with what stays, at most its value; the rest goes with the units split off.
        kept_discount = min(line.discount, line.price * line.reserved)
        OrderLine.objects.create(
            tenant_id=order.tenant_id,
            order=child,
            product=line.product,
            quantity=line.missing,
            price=line.price,
            discount=line.discount - kept_discount,
            cost=line.cost,
        )
        moved.append([line.product.sku, line.missing])
        if line.reserved:
            line.quantity, line.discount = line.reserved, kept_discount
            line.save(update_fields=["quantity", "discount"])
        else:
            emptied.append(line)
    if emptied:  # nothing reserved on them; inventory forgets their ids all the same
        stock.forget_lines(tenant=order.tenant, line_ids=[line.pk for line in emptied])
        for line in emptied:
            line.delete()
    goods_left = sum((line.amount for line in order.lines.all()), Decimal("0.00"))
    if order.discount > goods_left:  # the order's discount never exceeds the goods it keeps; the rest goes along
        child.discount = order.discount - goods_left
        child.save(update_fields=["discount"])
        order.discount = goods_left
        order.save(update_fields=["discount"])
    _finish_family_change(parent=order, child=child, actor=actor, moved=moved, kind=ActivityKind.SPLIT)
    payments.move_paid_share(
        parent=order, child=child, moved_value=child.total, parent_total_before=total_before, actor=actor
    )
    payments.refresh_payment_state(order=order)  # its total fell: what was partly paid may now be paid
    return child


@transaction.atomic
def copy_order(
    *,
    order: Order,
    actor: Actor,
    line_ids: list[int] | None = None,
    quantities: dict[int, int] | None = None,
    free_of_charge: bool = False,
) -> Order:
    """A new order of the same family with all lines (or the chosen ones, or `quantities` of chosen lines: an
    exchange sends again what came back); the original is unchanged. `free_of_charge`: the lines go at 0.00 (an
    exchange the customer paid for with the units sent back)."""
    if quantities is not None:
        line_ids = list(quantities)
    root, order = locks.lock_family_root_and_order(order)
    lines = list(order.lines.with_products())
    if line_ids is not None:
        wanted = set(line_ids)
        lines = [ln for ln in lines if ln.pk in wanted]
        if not lines or len(lines) != len(wanted):
            raise NothingToSplit(gettext("Choose one or more lines of this order to copy."))
    child = _new_child(parent=order, root=root, status=default_status(tenant_id=order.tenant_id))
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                tenant_id=order.tenant_id,
                order=child,
                product=ln.product,
                quantity=(quantities or {}).get(ln.pk, ln.quantity),
                price=Decimal("0.00") if free_of_charge else ln.price,
                cost=ln.cost,
            )
            for ln in lines
        ]
    )
    moved = [[ln.product.sku, (quantities or {}).get(ln.pk, ln.quantity)] for ln in lines]
    _finish_family_change(parent=order, child=child, actor=actor, moved=moved, kind=ActivityKind.COPIED)
    return child


def _finish_family_change(*, parent: Order, child: Order, actor: Actor, moved: list, kind: str) -> None:
    for order in (parent, child):
        recompute_total(order)
        touch(order, "total")
    log_activity(order=parent, kind=kind, actor=actor, changes={"child": child.number, "lines": moved})
    log_activity(
        order=child,
        kind=ActivityKind.SPLIT_FROM if kind == ActivityKind.SPLIT else ActivityKind.COPIED,
        actor=actor,
        changes={"parent": parent.number, "lines": moved},
    )
    record_event(
        tenant=child.tenant,
        event=OrderCreated(
            order_id=child.pk,
            number=child.number,
            channel=child.channel,
            parent_id=parent.pk,
            status=child.status.code,
            total=str(child.total or Decimal("0")),
        ),
    )

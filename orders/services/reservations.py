"""Reserving and releasing an order's stock. Inventory holds the reservations; each line's `reserved` follows them
in the database (orders/sql/line_reserved.sql), so nothing here writes it."""

from django.db import transaction

from inventory import services as stock
from inventory.models import with_products
from oms.actors import Actor
from oms.db import read_together, retry_on_conflict

from .. import locks, selectors
from ..models import ActivityKind, Group, Order, OrderLine
from .activity import log_activity, touch

RESERVABLE_GROUPS = (Group.NEW, Group.APPROVAL, Group.ASSEMBLY)

_LINE_ORDER = OrderLine._meta.get_field("order")


@retry_on_conflict()
@transaction.atomic
def reserve_order(*, order: Order, actor: Actor, warehouse_ids: list[int] | None = None) -> Order:
    """Reserve as much of each line as stock allows. Never more than is available, whatever the concurrency.

    A fixed number of statements whatever the number of lines: the lines are read once, inventory reserves them
    all in one statement, and their `reserved` follows inside it. The returned order carries `fresh_lines` (with
    their products) as the database now holds them."""
    return _reserve(locks.lock_order(order), actor=actor, warehouse_ids=warehouse_ids)


@retry_on_conflict()
@transaction.atomic
def reserve_order_by_id(*, tenant_id: int, order_id: int, actor: Actor) -> Order:
    """`reserve_order` for a request that knows only the id (the API): the order is locked and read once, with its
    status and customer, so the answer needs no read of its own, and its lines with their products are read in the
    same round trip, after the lock. Order.DoesNotExist: no such order here."""
    found, lines, products = read_together(
        locks.locked_with_status_read(tenant_id=tenant_id, pk=order_id),
        *selectors.lines_with_products_reads(order_id=order_id),
    )
    if not found:  # not the shop's, or changed while the lock waited: read again, alone
        return _reserve(locks.lock_order_by_id(tenant_id=tenant_id, pk=order_id), actor=actor, warehouse_ids=None)
    return _reserve(found[0], actor=actor, warehouse_ids=None, lines=with_products(lines, products))


def _reserve(order: Order, *, actor: Actor, warehouse_ids: list[int] | None, lines=None) -> Order:
    if lines is None:
        lines = selectors.lines_with_products(order_id=order.pk)
    for line in lines:
        _LINE_ORDER.set_cached_value(line, order)  # as order.lines would: line.order is this object, not a query
    order.fresh_lines = lines  # for an answer made from memory (orders.api); order.lines still reads the database
    if order.group not in RESERVABLE_GROUPS:
        return order
    demands = [stock.Demand(line_id=ln.pk, product_id=ln.product_id, quantity=ln.missing) for ln in lines]
    reserved = stock.reserve(tenant=order.tenant_id, demands=demands, warehouse_ids=warehouse_ids)
    if reserved:
        for line in lines:  # what the database now holds, for whoever reads these objects next
            line.reserved += reserved.get(line.pk, 0)
        log_activity(
            order=order,
            kind=ActivityKind.RESERVED,
            actor=actor,
            changes={line.product.sku: reserved[line.pk] for line in lines if line.pk in reserved},
        )
        touch(order)
    return order


@transaction.atomic
def release_order(*, order: Order, actor: Actor) -> Order:
    order = locks.lock_order(order)
    line_ids = list(order.lines.values_list("pk", flat=True))
    released = stock.release(tenant=order.tenant_id, line_ids=line_ids)
    if released:
        log_activity(order=order, kind=ActivityKind.RELEASED, actor=actor, changes={"units": sum(released.values())})
        touch(order)
    return order

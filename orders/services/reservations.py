from django.db import transaction
from django.db.models import F

from inventory import services as stock
from oms.actors import Actor
from oms.db import retry_on_conflict

from .. import locks
from ..models import ActivityKind, Group, Order, OrderLine
from .activity import log_activity, touch

RESERVABLE_GROUPS = (Group.NEW, Group.APPROVAL, Group.ASSEMBLY)


@retry_on_conflict()
@transaction.atomic
def reserve_order(*, order: Order, actor: Actor, warehouse_ids: list[int] | None = None) -> Order:
    """Reserve as much of each line as stock allows. Never more than is available, whatever the concurrency."""
    order = locks.lock_order(order)
    if order.group not in RESERVABLE_GROUPS:
        return order
    lines = list(order.lines.all())
    demands = [stock.Demand(line_id=ln.pk, product_id=ln.product_id, quantity=ln.missing) for ln in lines]
    reserved = stock.reserve(tenant=order.tenant, demands=demands, warehouse_ids=warehouse_ids)
    for line_id, units in reserved.items():
        OrderLine.objects.filter(pk=line_id).update(reserved=F("reserved") + units)
    if reserved:
        skus = {ln.pk: ln.product.sku for ln in order.lines.select_related("product")}
        log_activity(
            order=order,
            kind=ActivityKind.RESERVED,
            actor=actor,
            changes={skus[line_id]: units for line_id, units in reserved.items()},
        )
        touch(order)
    return order


def forget_reserved(*, order: Order) -> None:
    """The order's units left stock another way (shipped back in as a return, written off as a lost parcel): its
    lines hold nothing reserved any more. The caller holds the order's lock, in its transaction."""
    OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).update(reserved=0)


@transaction.atomic
def release_order(*, order: Order, actor: Actor) -> Order:
    order = locks.lock_order(order)
    line_ids = list(order.lines.values_list("pk", flat=True))
    released = stock.release(tenant=order.tenant, line_ids=line_ids)
    OrderLine.objects.filter(pk__in=line_ids).update(reserved=0)
    if released:
        log_activity(order=order, kind=ActivityKind.RELEASED, actor=actor, changes={"units": sum(released.values())})
        touch(order)
    return order

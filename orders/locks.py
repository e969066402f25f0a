"""Where order rows are locked. A family is always locked root first, then by id."""

from .models import Order


def lock_order(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("status")
        .get(pk=order.pk, tenant_id=order.tenant_id)
    )


def lock_family_root_and_order(order: Order) -> tuple[Order, Order]:
    ids = sorted({order.root_id or order.pk, order.pk})
    locked = {
        o.pk: o
        for o in Order.objects.select_for_update(of=("self",))
        .select_related("status")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    return locked[order.root_id or order.pk], locked[order.pk]

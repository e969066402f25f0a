"""Where order and customer rows are locked. A family is always locked root first, then by id."""

from .models import Customer, Order


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


def lock_customers(*customers: Customer) -> dict[int, Customer]:
    """Fresh, locked rows of these customers by id, locked in id order so two merges cannot deadlock."""
    return {
        c.pk: c
        for c in Customer.objects.select_for_update(of=("self",))
        .filter(tenant_id=customers[0].tenant_id, pk__in={c.pk for c in customers})
        .order_by("pk")
    }

from django.utils import timezone

from oms.actors import Actor

from ..models import Order, OrderActivity
from .amounts import order_total


def log_activity(*, order: Order, kind: str, actor: Actor, changes: dict | None = None, at=None) -> OrderActivity:
    entry = activity_entry(order=order, kind=kind, actor=actor, changes=changes, at=at)
    entry.save(force_insert=True)
    return entry


def activity_entry(*, order: Order, kind: str, actor: Actor, changes: dict | None = None, at=None) -> OrderActivity:
    """An unsaved entry of the order's activity, for a change that writes several at once (`bulk_create`)."""
    return OrderActivity(
        tenant_id=order.tenant_id,
        order=order,
        kind=kind,
        changes=changes or {},
        actor=actor.user if actor.user_id else None,
        actor_label=actor.name,
        at=at or timezone.now(),
    )


def touch(order: Order, *fields: str) -> None:
    """Save the named fields and the time of the change. With none named (the lines changed, as a reservation
    changes them) only the time is written: the order's history gets no row that would differ from the last in
    nothing the history keeps; the activity says what happened."""
    order.updated_at = timezone.now()
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    else:
        Order.objects.filter(pk=order.pk).update(updated_at=order.updated_at)


def recompute_total(order: Order) -> None:
    order.total = order_total(
        lines=[(line.price, line.quantity, line.discount) for line in order.lines.all()],
        discount=order.discount,
        delivery_cost=order.delivery_cost,
    )

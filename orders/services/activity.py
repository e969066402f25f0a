from django.utils import timezone

from oms.actors import Actor
from oms.db import RowsInsert, send_ahead

from ..models import Order, OrderActivity
from .amounts import order_total

# Every change of an order writes its entries: one INSERT, whatever their number, sent ahead of the next statement.
write_entries = RowsInsert(OrderActivity, unanswered=True)


def log_activity(*, order: Order, kind: str, actor: Actor, changes: dict | None = None, at=None) -> None:
    write_entries([activity_entry(order=order, kind=kind, actor=actor, changes=changes, at=at)])


def activity_entry(*, order: Order, kind: str, actor: Actor, changes: dict | None = None, at=None) -> OrderActivity:
    """An unsaved entry of the order's activity, for a change that writes several at once (`write_entries`)."""
    return OrderActivity(
        tenant_id=order.tenant_id,
        order=order,
        kind=kind,
        changes=changes or {},
        actor=actor.user if actor.user_id else None,
        actor_label=actor.name,
        at=at or timezone.now(),
    )


_TOUCH = f"UPDATE {Order._meta.db_table} SET updated_at = %s WHERE id = %s"  # noqa: S608 - the model's own table


def touch(order: Order, *fields: str) -> None:
    """Save the named fields and the time of the change. With none named (the lines changed, as a reservation
    changes them) only the time is written: the order's history gets no row that would differ from the last in
    nothing the history keeps; the activity says what happened."""
    order.updated_at = timezone.now()
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    else:
        send_ahead(_TOUCH, [order.updated_at, order.pk])  # hot (every reservation): the ORM's statement, once


def recompute_total(order: Order) -> None:
    order.total = order_total(
        lines=[(line.price, line.quantity, line.discount) for line in order.lines.all()],
        discount=order.discount,
        delivery_cost=order.delivery_cost,
    )

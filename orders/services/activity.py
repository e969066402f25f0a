from django.utils import timezone

from oms.actors import Actor

from ..models import Order, OrderActivity
from .amounts import order_total


def log_activity(*, order: Order, kind: str, actor: Actor, changes: dict | None = None, at=None) -> OrderActivity:
    return OrderActivity.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        kind=kind,
        changes=changes or {},
        actor=actor.user if actor.user_id else None,
        actor_label=actor.name,
        at=at or timezone.now(),
    )


def touch(order: Order, *fields: str) -> None:
    order.updated_at = timezone.now()
    order.save(update_fields=[*fields, "updated_at"])


def recompute_total(order: Order) -> None:
    order.total = order_total(
        lines=[(line.price, line.quantity, line.discount) for line in order.lines.all()],
        discount=order.discount,
        delivery_cost=order.delivery_cost,
    )

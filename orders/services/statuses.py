"""The one service that changes an order's status: matrix first, then the group's hard invariants."""

from django.db import transaction
from django.db.models import Case, Exists, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_fsm import TransitionNotAllowed as FsmRefused
from django_fsm import can_proceed

from inventory import services as stock
from oms.actors import Actor
from oms.db import HotQuery
from oms.event_catalogue import OrderStatusChanged
from oms.events import record_event
from oms.models import Tenant

from .. import locks
from ..errors import TransitionBlocked, TransitionNotAllowed
from ..models import ActivityKind, Group, Order, OrderStatus, StatusTransition
from .activity import log_activity

ENTER_GROUP = {
    Group.NEW: "enter_new",
    Group.APPROVAL: "enter_approval",
    Group.ASSEMBLY: "enter_assembly",
    Group.DELIVERY: "enter_delivery",
    Group.COMPLETE: "enter_complete",
    Group.CANCEL: "enter_cancel",
}


def matrix_for(*, tenant, channel: str):
    """Transitions that apply to a channel: its own matrix if it has one, else the tenant's general one. One
    condition, so a query built on it asks the database once."""
    rows = StatusTransition.objects.filter(tenant=tenant)
    if not channel:
        return rows.filter(channel="")
    has_own = Exists(StatusTransition.objects.filter(tenant=tenant, channel=channel))
    return rows.filter(channel=Case(When(has_own, then=Value(channel)), default=Value("")))


def allowed_targets(*, order: Order, role: str | None) -> list[OrderStatus]:
    """Statuses the matrix lets this order move to, for this role (None: API or system); one statement."""
    transitions = _targets_of_channel if order.channel else _targets_without_channel
    rows = transitions(tenant_id=order.tenant_id, channel=order.channel, from_status_id=order.status_id)
    return [t.to_status for t in rows if role is None or not t.roles or role in t.roles]


def _targets(tenant_id, channel, from_status_id):
    return (
        matrix_for(tenant=tenant_id, channel=channel)
        .filter(from_status_id=from_status_id, to_status__is_active=True)
        .select_related("to_status")
        .order_by("to_status__position", "to_status__pk")
    )


# Every order page asks it (oms.db.HotQuery: built once; an order with no channel reads the general matrix).
# Prepared: a shop's matrix is a few dozen rows, read by its index whatever the values.
_targets_of_channel = HotQuery(
    _targets, prepared=True, tenant_id=-7_303_003, channel="sample-channel", from_status_id=-7_303_004
)
_targets_without_channel = HotQuery(
    lambda tenant_id, channel, from_status_id: _targets(tenant_id, "", from_status_id),
    prepared=True,
    tenant_id=-7_303_003,
    channel="",
    from_status_id=-7_303_004,
)


def can_enter_group(order: Order, group: str) -> bool:
    """Whether the order may move to a status of `group` now, as far as the group invariants go: staying in its
    group needs nothing, another group is the django-fsm transition's say (its sources and conditions)."""
    return group == order.group or can_proceed(getattr(order, ENTER_GROUP[group]))


def blockers(order: Order, group: str) -> list[str]:
    reasons = {
        Group.ASSEMBLY: order.assembly_blockers,
        Group.DELIVERY: order.delivery_blockers,
        Group.COMPLETE: order.complete_blockers,
    }.get(group, lambda: [])()
    return reasons or [
        gettext("An order in group '%(current)s' cannot move to group '%(group)s'.")
        % {"current": order.group, "group": group}
    ]


@transaction.atomic
def change_status(*, order: Order, to_code: str, actor: Actor, skip_matrix: bool = False) -> Order:
    """Move the order to status `to_code`.

    Refused with TransitionNotAllowed when the tenant's matrix (for the order's channel and the actor's role)
    has no such move, and with TransitionBlocked (with reasons) when the target group's invariant fails.
    `skip_matrix` is for the scan-driven flows whose own rules stand in for the matrix.
    """
    target = _active_status(tenant_id=order.tenant_id, code=to_code)
    return move_locked(order=locks.lock_order(order), target=target, actor=actor, skip_matrix=skip_matrix)


@transaction.atomic
def change_status_by_id(*, tenant: Tenant, order_id: int, to_code: str, actor: Actor) -> Order:
    """`change_status` for a request that knows only the order's id (a page's button, the API): the order is locked
    and read once, with its status and customer, instead of read for the 404 and then locked.
    Order.DoesNotExist when the shop has no such order (the caller's 404), before any other refusal."""
    order = locks.lock_order_by_id(tenant_id=tenant.pk, pk=order_id)
    order.tenant = tenant  # the caller's row, already read: the event names the shop
    allowed = next((s for s in allowed_targets(order=order, role=actor.role) if s.code == to_code), None)
    if allowed is not None:  # the matrix's answer names the target too: no read of the status on its own
        return move_locked(order=order, target=allowed, actor=actor, skip_matrix=True)
    return move_locked(order=order, target=_active_status(tenant_id=tenant.pk, code=to_code), actor=actor)


def _active_status(*, tenant_id: int, code: str) -> OrderStatus:
    target = OrderStatus.objects.filter(tenant_id=tenant_id, code=code, is_active=True).first()
    if target is None:
        raise TransitionNotAllowed(
            gettext("There is no active status '%(code)s'.") % {"code": code}, details={"to": code}
        )
    return target


def move_locked(
    *, order: Order, target: OrderStatus, actor: Actor, skip_matrix: bool = False, also: tuple[str, ...] = ()
) -> Order:
    """`change_status` to an active status of the order's shop already read, for a service that locked the order row
    in its own transaction and changes more than the status (no savepoint, no second read of the row; the fields
    named in `also`, set by the caller, are written with the status). A refusal leaves that transaction to roll
    back."""
    to_code = target.code
    if target.pk == order.status_id:
        raise TransitionNotAllowed(
            gettext("The order is already '%(target)s'.") % {"target": target.name}, details={"to": to_code}
        )
    if not skip_matrix and target not in allowed_targets(order=order, role=actor.role):
        raise TransitionNotAllowed(
            gettext("Moving from '%(source)s' to '%(target)s' is not allowed by the transition matrix.")
            % {"source": order.status.name, "target": target.name},
            details={"from": order.status.code, "to": to_code},
        )
    previous_status, previous_group = order.status, order.group
    if target.group != order.group:
        _enter_group(order, target.group)
    order.status = target
    order.status_changed_at = order.updated_at = timezone.now()
    order.save(update_fields=["status", "group", "status_changed_at", "updated_at", *also])
    changes = {
        "status": [previous_status.code, target.code],
        "group": [previous_group, target.group],
        "purpose": [previous_status.purpose, target.purpose],
    }
    log_activity(order=order, kind=ActivityKind.STATUS, actor=actor, changes=changes)
    record_event(
        tenant=order.tenant,
        event=OrderStatusChanged(
            order_id=order.pk,
            number=order.number,
            from_status=previous_status.code,
            to_status=target.code,
            from_group=previous_group,
            to_group=target.group,
            from_purpose=previous_status.purpose or None,
            to_purpose=target.purpose or None,
            actor=actor.name,
        ),
    )
    return order


def _enter_group(order: Order, group: str) -> None:
    try:
        getattr(order, ENTER_GROUP[group])()
    except FsmRefused as exc:
        with translation.override("en"):
            reasons = blockers(order, group)  # the contract's details stay English
        shown = blockers(order, group) if not (translation.get_language() or "en").startswith("en") else reasons
        raise TransitionBlocked(
            gettext("The order cannot enter group '%(group)s': %(reasons)s")
            % {"group": group, "reasons": "; ".join(shown)},
            reasons=reasons,
        ) from exc
    if group == Group.CANCEL and not parcel_is_out(order):
        line_ids = list(order.lines.values_list("pk", flat=True))
        stock.release(tenant=order.tenant, line_ids=line_ids)  # the lines' `reserved` follows (line_reserved.sql)


def parcel_is_out(order: Order) -> bool:
    """The order's units left the warehouse with a courier or carrier and were neither delivered nor received
    back. A refused or cancelled order in that state keeps its units reserved, out of what can be sold, until the
    parcel is received back (`shipments.services.returns.receive_return`) or written off as lost
    (`write_off_lost_parcel`): releasing them would sell units that are still in a van."""
    return (
        order.handed_over_at is not None
        and order.delivered_at is None
        and stock.holds_reservations(tenant=order.tenant, line_ids=order.lines.values_list("pk", flat=True))
    )

"""Admin changes to the status catalogue and the transition matrix."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from oms.db import broken_constraint
from oms.models import Role

from .. import locks
from ..errors import DuplicateStatus, InvalidOrder, PurposeNotAllowed, PurposeTaken
from ..models import PURPOSE_GROUPS, Group, Order, OrderStatus, StatusPurpose, StatusTransition


@transaction.atomic
def save_status(
    *,
    tenant,
    code: str,
    name: str,
    group: str,
    color: str,
    position: int,
    is_active: bool,
    status: OrderStatus | None = None,
    purpose: str | None = None,
) -> OrderStatus:
    """Create a status, or edit one. A status's group is fixed once orders use it. `purpose` None leaves an
    edited status's purpose as it is; "" clears it. A purpose belongs to one status per shop."""
    if group not in Group.values:
        raise InvalidOrder(gettext("Unknown group '%(group)s'.") % {"group": group})
    if purpose is None:
        purpose = status.purpose if status is not None else ""
    _check_purpose(tenant=tenant, purpose=purpose, group=group, status=status)
    if status is None:
        if OrderStatus.objects.filter(tenant=tenant, code=code).exists():
            raise DuplicateStatus(gettext("A status with the code '%(code)s' already exists.") % {"code": code})
        try:
            with transaction.atomic():
                return OrderStatus.objects.create(
                    tenant=tenant,
                    code=code,
                    name=name,
                    group=group,
                    color=color,
                    position=position,
                    is_active=is_active,
                    purpose=purpose,
                )
        except IntegrityError as exc:
            raise _integrity_error(exc, code=code, purpose=purpose) from exc
    if group != status.group and Order.objects.filter(tenant=tenant, status=status).exists():
        raise InvalidOrder(gettext("Orders use this status, so its group cannot change. Create a new status instead."))
    if group != status.group and status.is_default:  # its group would have none, the other group two
        raise InvalidOrder(gettext("This status is where new orders of its group start, so its group cannot change."))
    if not is_active and (status.is_default or purpose == StatusPurpose.SPLIT_TARGET):
        raise InvalidOrder(gettext("This status is where new or split-off orders start; choose another one first."))
    status.name, status.group, status.color, status.position, status.is_active = name, group, color, position, is_active
    status.purpose = purpose
    try:
        with transaction.atomic():
            status.save()
    except IntegrityError as exc:
        raise _integrity_error(exc, code=code, purpose=purpose) from exc
    return status


def _check_purpose(*, tenant, purpose: str, group: str, status: OrderStatus | None) -> None:
    if not purpose:
        return
    if purpose not in StatusPurpose.values:
        raise PurposeNotAllowed(gettext("Unknown purpose '%(purpose)s'.") % {"purpose": purpose})
    label = StatusPurpose(purpose).label
    groups = PURPOSE_GROUPS[StatusPurpose(purpose)]
    if group not in groups:
        names = " or ".join(str(Group(g).label) for g in groups)
        raise PurposeNotAllowed(
            gettext("“%(label)s” needs a status of the group %(names)s.") % {"label": label, "names": names}
        )
    holder = OrderStatus.objects.filter(tenant=tenant, purpose=purpose)
    if status is not None:
        holder = holder.exclude(pk=status.pk)
    holder = holder.first()
    if holder is not None:
        raise PurposeTaken(
            gettext("“%(label)s” is already the purpose of the status “%(name)s” (%(code)s); clear it there first.")
            % {"label": label, "name": holder.name, "code": holder.code},
            details={"purpose": purpose, "status": holder.code},
        )


def _integrity_error(exc: IntegrityError, *, code: str, purpose: str):
    name = broken_constraint(exc)
    if name == "status_unique_code":
        return DuplicateStatus(gettext("A status with the code '%(code)s' already exists.") % {"code": code})
    if name == "status_one_per_purpose":
        return PurposeTaken(
            gettext("Another status already has the purpose “%(label)s”.") % {"label": StatusPurpose(purpose).label}
        )
    raise exc


def _copy_general_matrix(tenant, channel: str) -> None:
    rows = StatusTransition.objects.filter(tenant=tenant, channel="")
    StatusTransition.objects.bulk_create(
        [
            StatusTransition(
                tenant=tenant,
                channel=channel,
                from_status_id=r.from_status_id,
                to_status_id=r.to_status_id,
                roles=list(r.roles),
            )
            for r in rows
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def set_transition(
    *, tenant, from_status: OrderStatus, to_status: OrderStatus, allowed: bool, channel: str = "", role: str = ""
) -> bool:
    """Allow or refuse one move of the matrix, for a channel (its own matrix, made from the general one on first
    change) and optionally for one role only. Returns whether the move is now allowed for that role."""
    if from_status.pk == to_status.pk:
        raise InvalidOrder(gettext("A status cannot move to itself."))
    if role and role not in Role.values:
        raise InvalidOrder(gettext("Unknown role '%(role)s'.") % {"role": role})
    if channel and not StatusTransition.objects.filter(tenant=tenant, channel=channel).exists():
        _copy_general_matrix(tenant, channel)
    row = locks.lock_transition(tenant=tenant, channel=channel, from_status=from_status, to_status=to_status)
    every_role = set(Role.values)
    if allowed:
        if row is None:  # a toggle of the same cell at the same time may insert it first: then it is updated below
            cell = StatusTransition(
                tenant=tenant,
                channel=channel,
                from_status=from_status,
                to_status=to_status,
                roles=[role] if role else [],
            )
            StatusTransition.objects.bulk_create([cell], ignore_conflicts=True)
            row = locks.lock_transition(tenant=tenant, channel=channel, from_status=from_status, to_status=to_status)
        if role and row.roles and role not in row.roles:
            row.roles = sorted({*row.roles, role})
            row.save(update_fields=["roles"])
        elif not role and row.roles:
            row.roles = []
            row.save(update_fields=["roles"])
        return True
    if row is None:
        return False
    if not role:
        row.delete()
        return False
    remaining = (set(row.roles) or every_role) - {role}
    if remaining:
        row.roles = sorted(remaining)
        row.save(update_fields=["roles"])
    else:
        row.delete()
    return False


def transition_allowed_for(row: StatusTransition | None, role: str = "") -> bool:
    return row is not None and (not role or not row.roles or role in row.roles)

"""Helpers the shipment services share: per-tenant settings, target statuses, current custody holder."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from orders.models import Group, Order, OrderStatus
from orders.purposes import StatusPurpose, status_for

from ..models import CustodyTransfer, HolderKind, ShipmentSettings, holder_name


def settings_for(tenant) -> ShipmentSettings:
    tenant_id = getattr(tenant, "pk", tenant)
    found = ShipmentSettings.objects.filter(tenant_id=tenant_id).first()
    if found is None:
        found, _ = ShipmentSettings.objects.get_or_create(tenant_id=tenant_id)
    return found


def install_default_settings(*, tenant) -> None:
    ShipmentSettings.objects.get_or_create(tenant=tenant)


def packed_status(order: Order) -> OrderStatus | None:
    """The tenant's status for the purpose 'packed', else the first active assembly status after the current one."""
    statuses = OrderStatus.objects.filter(tenant_id=order.tenant_id, is_active=True, group=Group.ASSEMBLY)
    packed = statuses.filter(purpose=StatusPurpose.PACKED).first()
    if packed is not None:
        return packed
    current = order.status
    return (
        statuses.filter(position__gt=current.position).order_by("position", "pk").first()
        if current.group == Group.ASSEMBLY
        else None
    )


def delivery_status(order: Order) -> OrderStatus | None:
    """Where a handover moves the order: the status for the purpose 'handed over', else the delivery group's
    default."""
    statuses = OrderStatus.objects.filter(tenant_id=order.tenant_id, is_active=True, group=Group.DELIVERY)
    return (
        statuses.filter(purpose=StatusPurpose.HANDED_OVER).first()
        or statuses.filter(is_default=True).first()
        or statuses.first()
    )


def mapped_status(tenant_id, value: str) -> OrderStatus | None:
    """A status named in a setting (the tracking map): a purpose (what survives renaming codes), or a code."""
    if not value:
        return None
    if value in StatusPurpose.values:
        return status_for(tenant_id, value)
    return OrderStatus.objects.filter(tenant_id=tenant_id, code=value, is_active=True).first()


@dataclass(frozen=True)
class Holder:
    kind: str
    user: object | None = None
    carrier: object | None = None
    label: str = "Warehouse"

    @property
    def name(self) -> str:
        return holder_name(self.kind, self.label)

    @classmethod
    def warehouse(cls):
        return cls(kind=HolderKind.WAREHOUSE, label="Warehouse")


def current_holder(order: Order) -> Holder:
    """Whoever the last custody scan handed the order to; the warehouse until the first handover."""
    last = (
        CustodyTransfer.objects.filter(tenant_id=order.tenant_id, order=order)
        .select_related("to_user", "to_carrier")
        .order_by("-at", "-pk")
        .first()
    )
    if last is None:
        return Holder.warehouse()
    return Holder(kind=last.to_kind, user=last.to_user, carrier=last.to_carrier, label=last.to_label)


def record_transfer(*, order: Order, to: Holder, actor, note: str = "", frm: Holder | None = None) -> CustodyTransfer:
    frm = frm or current_holder(order)
    return CustodyTransfer.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        from_kind=frm.kind,
        from_user=frm.user,
        from_carrier=frm.carrier,
        from_label=frm.label[:150],
        to_kind=to.kind,
        to_user=to.user,
        to_carrier=to.carrier,
        to_label=to.label[:150],
        scanned_by=actor.user if actor.user_id else None,
        scanned_by_label=actor.name[:150],
        note=note[:255],
    )


def local_datetime(date: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(date, time))


def user_label(user) -> str:
    full = (user.get_full_name() or "").strip()
    return full or user.get_username()

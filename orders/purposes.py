"""Find a shop's status by what it is for (its purpose), never by a code the shop may rename."""

from .models import OrderStatus, StatusPurpose

__all__ = ["StatusPurpose", "status_for", "codes_for", "purpose_of"]


def status_for(tenant_id, purpose: str, *, active_only: bool = True) -> OrderStatus | None:
    """The shop's status declared for `purpose` (at most one: a unique constraint), or None."""
    tenant_id = getattr(tenant_id, "pk", tenant_id)
    statuses = OrderStatus.objects.filter(tenant_id=tenant_id, purpose=purpose)
    if active_only:
        statuses = statuses.filter(is_active=True)
    return statuses.first()


def codes_for(tenant_id, purpose: str) -> set[str]:
    """Codes of the status of `purpose` (active or not): for reading history that recorded codes."""
    tenant_id = getattr(tenant_id, "pk", tenant_id)
    return set(OrderStatus.objects.filter(tenant_id=tenant_id, purpose=purpose).values_list("code", flat=True))


def purpose_of(tenant_id, code: str) -> str:
    tenant_id = getattr(tenant_id, "pk", tenant_id)
    return OrderStatus.objects.filter(tenant_id=tenant_id, code=code).values_list("purpose", flat=True).first() or ""

"""Where the core's rows are locked."""

from .models import Membership, Role


def lock_active_owners(tenant_id: int) -> list[Membership]:
    """The shop's active owners, locked by id: whoever removes or demotes an owner waits for the others doing so,
    then counts the owners left (two owners removing each other at once would otherwise leave none)."""
    return list(
        Membership.objects.select_for_update()
        .filter(tenant_id=tenant_id, role=Role.OWNER, is_active=True)
        .order_by("pk")
    )


def lock_membership(*, tenant_id: int, user_id: int) -> Membership | None:
    """A person's membership of the shop, read afresh and locked against a deactivation committing meanwhile."""
    return Membership.objects.select_for_update(no_key=True).filter(tenant_id=tenant_id, user_id=user_id).first()

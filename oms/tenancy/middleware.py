from oms import rls, system
from oms.db import HotQuery
from oms.models import Membership
from oms.observability import tenant_var

SESSION_TENANT_KEY = "tenant_id"


class TenantMiddleware:
    """Sets `request.tenant`, `request.role` and `request.membership` for a logged-in user.

    The tenant is the one chosen in the session, or the only one the user belongs to.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.session.get(SESSION_TENANT_KEY) if request.user.is_authenticated else None
        start_unbound(request)
        # One round trip binds the connection to the chosen shop (or to none) for the whole request.
        rls.bind(chosen)
        if request.user.is_authenticated:
            membership = chosen_membership(request.user, chosen) if chosen else None
            if membership is None:
                # Which shops the user belongs to is known before any shop is chosen: the one system question.
                shops = member_tenant_ids(request.user)
                if len(shops) == 1:
                    rls.bind(shops[0])
                    membership = chosen_membership(request.user, shops[0])
                    if membership is not None:
                        request.session[SESSION_TENANT_KEY] = shops[0]
                else:
                    rls.bind(None)
            if membership is not None:
                request.membership = membership
                request.tenant = membership.tenant
                request.role = membership.role
                tenant_var.set(membership.tenant.slug)
        return self.get_response(request)


def start_unbound(request) -> None:
    """A request as it starts: no shop, no role, and no binding left from the thread's previous request."""
    request.tenant = request.role = request.membership = None
    rls.bind(None)


def member_tenant_ids(user) -> list[int]:
    """Ids of the shops the user is an active member of, across shops (a system function; see oms/rls.py)."""
    return [row[0] for row in rls.system_rows(system.member_tenants, user.pk)]


def user_memberships(user):
    """The user's memberships, read under each shop's own policy (one bound shop at a time)."""
    memberships = []
    for tenant_id in member_tenant_ids(user):
        with rls.tenant_context(tenant_id):
            membership = chosen_membership(user, tenant_id)
        if membership is not None:
            memberships.append(membership)
    return sorted(memberships, key=lambda m: m.tenant.name)


def chosen_membership(user, tenant_id):
    """The membership in the shop chosen in the session; visible under the policy the connection is bound to."""
    return _active_membership.first(user_id=user.pk, tenant_id=tenant_id)


# Every page of every person asks it (oms.db.HotQuery: built once).
_active_membership = HotQuery(
    lambda user_id, tenant_id: (
        Membership.objects.filter(user_id=user_id, tenant_id=tenant_id, is_active=True)
        .select_related("tenant")
        .order_by("pk")[:1]
    ),
    prepared=True,  # one row by the unique shop and person, with its shop
    user_id=-7_303_001,
    tenant_id=-7_303_002,
)

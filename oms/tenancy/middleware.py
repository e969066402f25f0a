from oms import rls
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
        request.tenant = request.role = request.membership = None
        chosen = request.session.get(SESSION_TENANT_KEY) if request.user.is_authenticated else None
        # One round trip binds the connection to the chosen shop (or to none) for the whole request.
        rls.bind(chosen)
        if request.user.is_authenticated:
            membership = chosen_membership(request.user, chosen) if chosen else None
            if membership is None:
                with rls.all_tenants():  # which shops the user belongs to is known before any shop is chosen
                    membership = active_membership(request)
                if membership is not None:
                    request.session[SESSION_TENANT_KEY] = membership.tenant_id
                rls.bind(membership.tenant_id if membership else None)
            if membership is not None:
                request.membership = membership
                request.tenant = membership.tenant
                request.role = membership.role
                tenant_var.set(membership.tenant.slug)
        return self.get_response(request)


def user_memberships(user):
    return (
        Membership.objects.filter(user=user, is_active=True, tenant__isnull=False)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def chosen_membership(user, tenant_id):
    """The membership in the shop chosen in the session; visible under the policy the connection is bound to."""
    return user_memberships(user).filter(tenant_id=tenant_id).first()


def active_membership(request):
    chosen = request.session.get(SESSION_TENANT_KEY)
    memberships = user_memberships(request.user)
    if chosen is not None:
        membership = memberships.filter(tenant_id=chosen).first()
        if membership is not None:
            return membership
    first_two = list(memberships[:2])
    return first_two[0] if len(first_two) == 1 else None

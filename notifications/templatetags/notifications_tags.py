"""`{% alert_badge %}`: the header's unread alert count, for the roles that have an inbox."""

from django import template

from oms.models import Role

from ..selectors import unread_count

register = template.Library()

INBOX_ROLES = {Role.OWNER, Role.MANAGER, Role.ADMIN}


@register.inclusion_tag("notifications/_badge.html", takes_context=True)
def alert_badge(context):
    request = context.get("request")
    tenant, role = getattr(request, "tenant", None), getattr(request, "role", None)
    if request is None or tenant is None or role not in INBOX_ROLES or not request.user.is_authenticated:
        return {"show": False}
    return {"show": True, "count": unread_count(tenant=tenant, user=request.user)}

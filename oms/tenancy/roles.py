"""Role checks used by every view; what each role sees is registered in navigation.py."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from oms.models import Role

OWNER, ADMIN, MANAGER, PACKER, COURIER = Role.OWNER, Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER
# Owners see everything a manager sees (ARCHITECTURE.md); admins tune settings.
OFFICE = (OWNER, MANAGER)
SETTINGS = (OWNER, ADMIN)
WAREHOUSE = (OWNER, MANAGER, ADMIN, PACKER)


def role_required(*roles):
    """Allow the view only to members of the current tenant holding one of `roles`.

    Anonymous users go to the login page; users without a chosen tenant go to the tenant chooser;
    other roles get 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.tenant is None:
                return redirect("oms:choose_tenant")
            if request.role not in roles:
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = tuple(roles)
        return wrapped

    return decorator

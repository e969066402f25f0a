from .navigation import header_templates, navigation_for


def tenant_context(request):
    role = getattr(request, "role", None)
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_role": role,
        "navigation": navigation_for(role) if role else [],
        "header_templates": header_templates(),
    }

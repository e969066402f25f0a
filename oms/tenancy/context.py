from django.urls import reverse

from .navigation import header_templates, navigation_for


def _entries(request, role) -> list[tuple[str, str, bool]]:
    """(label, url, current) of the header entries; the current one is the longest URL the page lies under, so
    /orders/customers/ marks Customers, not Orders as well."""
    entries = [(label, reverse(url_name)) for label, url_name in navigation_for(role)]
    under = [url for _, url in entries if request.path.startswith(url)]
    current = max(under, key=len, default=None)
    return [(label, url, url == current) for label, url in entries]


def tenant_context(request):
    role = getattr(request, "role", None)
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_role": role,
        "navigation": _entries(request, role) if role else [],
        "header_templates": header_templates(),
    }

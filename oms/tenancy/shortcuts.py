from django.http import Http404


def get_for_tenant_or_404(model_or_queryset, tenant, **lookup):
    """The object of `tenant` matching `lookup`, or 404 — the same answer for missing and foreign ids. The object
    carries `tenant` (the caller's row, already read), so a service that reads `object.tenant` reads it no more."""
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    try:
        found = queryset.filter(tenant=tenant).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from exc
    field = queryset.model._meta.get_field("tenant")
    if isinstance(tenant, field.related_model) and not field.is_cached(found):
        field.set_cached_value(found, tenant)
    return found

from django.http import Http404


def get_for_tenant_or_404(model_or_queryset, tenant, **lookup):
    """The object of `tenant` matching `lookup`, or 404 — the same answer for missing and foreign ids."""
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    try:
        return queryset.filter(tenant=tenant).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from exc

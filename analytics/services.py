"""Writes of the analytics app: only its per-tenant settings."""

from django.db import transaction

from oms.errors import DomainError

from .models import REVENUE_GROUP_CHOICES, AnalyticsSettings, default_revenue_groups

VALID_GROUPS = [value for value, _ in REVENUE_GROUP_CHOICES]


def create_default_settings(*, tenant) -> AnalyticsSettings:
    """A new tenant counts `complete` orders as revenue until an owner says otherwise."""
    settings, _ = AnalyticsSettings.objects.get_or_create(tenant=tenant, defaults={"revenue_groups": default_revenue_groups()})
    return settings


@transaction.atomic
def update_settings(*, tenant, revenue_groups: list[str]) -> AnalyticsSettings:
    """Revenue groups are a non-empty subset of the groups before `cancel`; cancelled orders never count."""
    groups = [g for g in VALID_GROUPS if g in set(revenue_groups)]
    if not groups or len(groups) != len(set(revenue_groups)):
        raise DomainError("Choose one or more groups that count as revenue (cancelled orders never count).")
    settings, _ = AnalyticsSettings.objects.select_for_update().get_or_create(
        tenant=tenant, defaults={"revenue_groups": groups}
    )
    settings.revenue_groups = groups
    settings.save(update_fields=["revenue_groups", "updated_at"])
    return settings

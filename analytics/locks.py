"""Where analytics rows are locked: the shop's settings row, which also queues the summary rebuilds."""

from .models import AnalyticsSettings


def lock_settings(*, tenant, revenue_groups: list[str]) -> AnalyticsSettings:
    """The shop's settings row, made with `revenue_groups` on first need, locked until the transaction ends."""
    settings, _ = AnalyticsSettings.objects.select_for_update().get_or_create(
        tenant=tenant, defaults={"revenue_groups": revenue_groups}
    )
    return settings

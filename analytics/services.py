"""Writes of the analytics app: its per-tenant settings and the purchase summary the reports read."""

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from oms.errors import DomainError
from orders.models import Order

from .models import REVENUE_GROUP_CHOICES, AnalyticsSettings, default_revenue_groups
from .reports import PURCHASES, REPORT_WORK_MEM

VALID_GROUPS = [value for value, _ in REVENUE_GROUP_CHOICES]

REBUILD_SQL = "".join(
    [
        "WITH ",
        PURCHASES,
        """
INSERT INTO analytics_purchase (tenant_id, root_id, customer_id, channel, purchased_at, revenue, first_at, seq)
SELECT %(tenant)s, root_id, customer_id, channel, purchased_at, revenue,
       MIN(purchased_at) OVER w, ROW_NUMBER() OVER w
FROM purchases
WHERE customer_id IS NOT NULL
WINDOW w AS (PARTITION BY customer_id ORDER BY purchased_at, root_id)
""",
    ]
)


def create_default_settings(*, tenant) -> AnalyticsSettings:
    """A new tenant counts `complete` orders as revenue until an owner says otherwise."""
    settings, _ = AnalyticsSettings.objects.get_or_create(
        tenant=tenant, defaults={"revenue_groups": default_revenue_groups()}
    )
    return settings


@transaction.atomic
def update_settings(*, tenant, revenue_groups: list[str]) -> AnalyticsSettings:
    """Revenue groups are a non-empty subset of the groups before `cancel`; cancelled orders never count.

    The purchase summary is rebuilt in the same transaction, so no report mixes the old and new rule.
    """
    groups = [g for g in VALID_GROUPS if g in set(revenue_groups)]
    if not groups or len(groups) != len(set(revenue_groups)):
        raise DomainError("Choose one or more groups that count as revenue (cancelled orders never count).")
    settings, _ = AnalyticsSettings.objects.select_for_update().get_or_create(
        tenant=tenant, defaults={"revenue_groups": groups}
    )
    settings.revenue_groups = groups
    settings.save(update_fields=["revenue_groups", "updated_at"])
    refresh_purchases(tenant=tenant, force=True)
    settings.refresh_from_db()
    return settings


@transaction.atomic
def refresh_purchases(*, tenant, force: bool = False) -> int | None:
    """Rebuild the tenant's purchase summary from its orders; skipped (None) when no order changed since.

    Returns the number of purchases. The settings row is locked, so two refreshes of a tenant run one by one.
    """
    settings, _ = AnalyticsSettings.objects.select_for_update().get_or_create(
        tenant=tenant, defaults={"revenue_groups": default_revenue_groups()}
    )
    latest = Order.objects.filter(tenant=tenant).aggregate(latest=Max("updated_at"))["latest"]
    seen = settings.purchases_seen_change
    if not force and settings.purchases_refreshed_at and (latest is None or (seen and latest <= seen)):
        return None
    groups = [g for g in settings.revenue_groups if g != "cancel"] or default_revenue_groups()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])
        cursor.execute("DELETE FROM analytics_purchase WHERE tenant_id = %s", [tenant.pk])
        cursor.execute(REBUILD_SQL, {"tenant": tenant.pk, "groups": groups})
        count = cursor.rowcount
    settings.purchases_refreshed_at = timezone.now()
    settings.purchases_seen_change = latest
    settings.save(update_fields=["purchases_refreshed_at", "purchases_seen_change"])
    return count

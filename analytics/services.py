"""Writes of the analytics app: its per-tenant settings and the purchase summary the reports read."""

from datetime import timedelta

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


# Incremental rebuild: the families with an order changed since the watermark are recomputed, then the first
# purchase and purchase numbers of their customers. The overlap absorbs transactions that committed late.
OVERLAP = timedelta(minutes=5)
CHANGED_FAMILIES_SQL = """
CREATE TEMP TABLE analytics_changed ON COMMIT DROP AS
SELECT DISTINCT root_id FROM orders_order
WHERE tenant_id = %(tenant)s AND updated_at > %(since)s AND root_id IS NOT NULL
"""
AFFECTED_CUSTOMERS_SQL = """
INSERT INTO analytics_customers
SELECT customer_id FROM analytics_purchase
WHERE tenant_id = %(tenant)s AND root_id IN (SELECT root_id FROM analytics_changed)
"""
REINSERT_SQL = "".join(
    [
        "WITH ",
        PURCHASES.replace(
            "WHERE o.tenant_id = %(tenant)s",
            "WHERE o.tenant_id = %(tenant)s AND o.root_id IN (SELECT root_id FROM analytics_changed)",
        ),
        """
INSERT INTO analytics_purchase (tenant_id, root_id, customer_id, channel, purchased_at, revenue, first_at, seq)
SELECT %(tenant)s, root_id, customer_id, channel, purchased_at, revenue, purchased_at, 0
FROM purchases
WHERE customer_id IS NOT NULL
""",
    ]
)
RENUMBER_SQL = """
UPDATE analytics_purchase p SET first_at = x.first_at, seq = x.seq
FROM (
    SELECT root_id, MIN(purchased_at) OVER w AS first_at, ROW_NUMBER() OVER w AS seq
    FROM analytics_purchase
    WHERE tenant_id = %(tenant)s AND customer_id IN (SELECT customer_id FROM analytics_customers)
    WINDOW w AS (PARTITION BY customer_id ORDER BY purchased_at, root_id)
) x
WHERE p.tenant_id = %(tenant)s AND p.root_id = x.root_id AND (p.first_at <> x.first_at OR p.seq <> x.seq)
"""


def create_default_settings(*, tenant) -> AnalyticsSettings:
    """A new tenant counts `complete` orders as revenue until an owner says otherwise."""
    settings, _ = AnalyticsSettings.objects.get_or_create(
        tenant=tenant, defaults={"revenue_groups": default_revenue_groups()}
    )
    return settings


@transaction.atomic
def update_settings(*, tenant, revenue_groups: list[str]) -> AnalyticsSettings:
    """Revenue groups are a non-empty subset of the groups before `cancel`; cancelled orders never count.

    The purchase summary is rebuilt by a task once this commits (a big shop takes about a minute); until
    then the pages say when the summary was built.
    """
    groups = [g for g in VALID_GROUPS if g in set(revenue_groups)]
    if not groups or len(groups) != len(set(revenue_groups)):
        raise DomainError("Choose one or more groups that count as revenue (cancelled orders never count).")
    settings, _ = AnalyticsSettings.objects.select_for_update().get_or_create(
        tenant=tenant, defaults={"revenue_groups": groups}
    )
    settings.revenue_groups = groups
    settings.save(update_fields=["revenue_groups", "updated_at"])
    from .tasks import refresh_tenant_purchases  # tasks import this module

    refresh_tenant_purchases.delay_on_commit(tenant.pk, True)
    return settings


@transaction.atomic
def refresh_purchases(*, tenant, force: bool = False) -> int | None:
    """Bring the tenant's purchase summary up to date; skipped (None) when no order changed since last time.

    `force` (and the first run) rebuilds everything; otherwise only the families with an order changed since
    the last run, and their customers' purchase numbers. Returns the number of purchases. The settings row
    is locked, so two refreshes of a tenant run one after the other.
    """
    settings, _ = AnalyticsSettings.objects.select_for_update().get_or_create(
        tenant=tenant, defaults={"revenue_groups": default_revenue_groups()}
    )
    latest = Order.objects.filter(tenant=tenant).aggregate(latest=Max("updated_at"))["latest"]
    seen = settings.purchases_seen_change
    if not force and settings.purchases_refreshed_at and (latest is None or (seen and latest <= seen)):
        return None
    groups = [g for g in settings.revenue_groups if g != "cancel"] or default_revenue_groups()
    params = {"tenant": tenant.pk, "groups": groups}
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])
        if force or not settings.purchases_refreshed_at or seen is None:
            cursor.execute("DELETE FROM analytics_purchase WHERE tenant_id = %s", [tenant.pk])
            cursor.execute(REBUILD_SQL, params)
            cursor.execute("ANALYZE analytics_purchase")  # fresh statistics, or the planner guesses 20 rows
        else:
            _rebuild_changed(cursor, {**params, "since": seen - OVERLAP})
        cursor.execute("SELECT count(*) FROM analytics_purchase WHERE tenant_id = %s", [tenant.pk])
        count = cursor.fetchone()[0]
    settings.purchases_refreshed_at = timezone.now()
    settings.purchases_seen_change = latest
    settings.save(update_fields=["purchases_refreshed_at", "purchases_seen_change"])
    return count


def _rebuild_changed(cursor, params: dict) -> None:
    for table in ("analytics_changed", "analytics_customers"):
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    cursor.execute(CHANGED_FAMILIES_SQL, params)
    cursor.execute("CREATE TEMP TABLE analytics_customers (customer_id bigint) ON COMMIT DROP")
    cursor.execute(AFFECTED_CUSTOMERS_SQL, params)  # customers of the families as they were ...
    cursor.execute(
        "DELETE FROM analytics_purchase WHERE tenant_id = %(tenant)s AND root_id IN (SELECT root_id FROM analytics_changed)",
        params,
    )
    cursor.execute(REINSERT_SQL, params)
    cursor.execute(AFFECTED_CUSTOMERS_SQL, params)  # ... and as they are now
    cursor.execute(RENUMBER_SQL, params)

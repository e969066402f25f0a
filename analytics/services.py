"""Writes of the analytics app: its per-tenant settings and the purchase summary the reports read."""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from oms.errors import DomainError
from oms.events import enqueue_after_commit
from oms.jobs import JobResult
from orders.models import Order

from . import locks
from .models import REVENUE_GROUP_CHOICES, AnalyticsSettings, default_revenue_groups
from .reports import FAMILIES_SQL, PURCHASES, REPORT_WORK_MEM, STAYS_SQL

VALID_GROUPS = [value for value, _ in REVENUE_GROUP_CHOICES]

# Per customer, from rows (root_id, customer_id, channel, purchased_at, revenue) in `src`: first purchase,
# purchase number, calendar buckets in the site's time zone, and first-in-its-month/week flags.
DERIVED = """
numbered AS (
    SELECT root_id, customer_id, channel, purchased_at, revenue,
           MIN(purchased_at) OVER w AS first_at, ROW_NUMBER() OVER w AS seq,
           date_trunc('month', purchased_at AT TIME ZONE %(tz)s)::date AS month,
           date_trunc('week', purchased_at AT TIME ZONE %(tz)s)::date AS week
    FROM src
    WINDOW w AS (PARTITION BY customer_id ORDER BY purchased_at, root_id)
),
derived AS (
    SELECT n.*,
           date_trunc('month', first_at AT TIME ZONE %(tz)s)::date AS first_month,
           date_trunc('week', first_at AT TIME ZONE %(tz)s)::date AS first_week,
           ROW_NUMBER() OVER (PARTITION BY customer_id, month ORDER BY purchased_at, root_id) = 1 AS month_first,
           ROW_NUMBER() OVER (PARTITION BY customer_id, week ORDER BY purchased_at, root_id) = 1 AS week_first
    FROM numbered n
),
final AS (
    SELECT d.*,
           ((EXTRACT(YEAR FROM month) - EXTRACT(YEAR FROM first_month)) * 12
            + EXTRACT(MONTH FROM month) - EXTRACT(MONTH FROM first_month))::int AS month_age,
           (week - first_week) / 7 AS week_age
    FROM derived d
)
"""
COLUMNS = (
    "root_id, customer_id, channel, purchased_at, revenue, first_at, seq, month, first_month, month_age, "
    "month_first, week, first_week, week_age, week_first"
)

REBUILD_SQL = "".join(
    [
        "WITH ",
        PURCHASES,
        ", src AS (SELECT * FROM purchases WHERE customer_id IS NOT NULL),",
        DERIVED,
        "INSERT INTO analytics_purchase (tenant_id, ",
        COLUMNS,
        ") SELECT %(tenant)s, ",
        COLUMNS,
        " FROM final",
    ]
)

# Incremental rebuild: the families with an order changed since the watermark are recomputed, then every
# derived column of their customers' purchases. The overlap absorbs transactions that committed late.
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
INSERT INTO analytics_purchase (tenant_id, root_id, customer_id, channel, purchased_at, revenue, first_at, seq,
                                month, first_month, month_age, month_first, week, first_week, week_age, week_first)
SELECT %(tenant)s, root_id, customer_id, channel, purchased_at, revenue, purchased_at, 0,
       '1970-01-01', '1970-01-01', 0, false, '1970-01-01', '1970-01-01', 0, false
FROM purchases
WHERE customer_id IS NOT NULL
""",
    ]
)
RENUMBER_SQL = "".join(
    [
        """
WITH src AS (
    SELECT root_id, customer_id, channel, purchased_at, revenue FROM analytics_purchase
    WHERE tenant_id = %(tenant)s AND customer_id IN (SELECT customer_id FROM analytics_customers)
),""",
        DERIVED,
        """
UPDATE analytics_purchase p
SET first_at = f.first_at, seq = f.seq, month = f.month, first_month = f.first_month, month_age = f.month_age,
    month_first = f.month_first, week = f.week, first_week = f.first_week, week_age = f.week_age,
    week_first = f.week_first
FROM final f
WHERE p.tenant_id = %(tenant)s AND p.root_id = f.root_id
""",
    ]
)


# Counts of the stays per month, status/group, channel and duration bucket (models.StayHistogram): `sign` -1
# takes stays out before they are replaced, +1 adds them; /*orders*/ narrows to the re-read orders.
HISTOGRAM_SQL = """
INSERT INTO analytics_stayhistogram AS h (tenant_id, month, kind, name, channel, bucket, stays)
SELECT %(tenant)s, date_trunc('month', s.entered_at AT TIME ZONE %(tz)s)::date, s.kind, s.name, s.channel,
       analytics_duration_bucket(s.seconds), %(sign)s * COUNT(*)
FROM analytics_stay s
WHERE s.tenant_id = %(tenant)s /*orders*/
GROUP BY 2, 3, 4, 5, 6
ON CONFLICT (tenant_id, month, kind, name, channel, bucket) DO UPDATE SET stays = h.stays + EXCLUDED.stays
"""
HISTOGRAM_CHANGED_SQL = HISTOGRAM_SQL.replace(
    "/*orders*/", "AND s.order_id IN (SELECT order_id FROM analytics_changed_orders)"
)
FAMILIES_FULL_SQL = FAMILIES_SQL.replace("/*families*/", "").replace("/*cancels*/", "")
FAMILIES_CHANGED_SQL = FAMILIES_SQL.replace(
    "/*families*/", "AND o.root_id IN (SELECT root_id FROM analytics_changed)"
).replace(
    "/*cancels*/",
    "AND a.order_id IN (SELECT id FROM orders_order WHERE tenant_id = %(tenant)s "
    "AND root_id IN (SELECT root_id FROM analytics_changed))",
)

STAYS_OVERLAP_IDS = 10_000  # re-read the last timeline ids too: a slow transaction may commit a lower id late
STAYS_FULL_SQL = STAYS_SQL.replace("/*orders*/", "")
STAYS_CHANGED_SQL = STAYS_SQL.replace("/*orders*/", "AND a.order_id IN (SELECT order_id FROM analytics_changed_orders)")


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
        raise DomainError(gettext("Choose one or more groups that count as revenue (cancelled orders never count)."))
    settings = locks.lock_settings(tenant=tenant, revenue_groups=groups)
    settings.revenue_groups = groups
    settings.save(update_fields=["revenue_groups", "updated_at"])
    from .tasks import refresh_tenant_purchases  # tasks import this module

    enqueue_after_commit(refresh_tenant_purchases, tenant.pk, True)
    return settings


@transaction.atomic
def refresh_purchases(*, tenant, force: bool = False) -> int | None:
    """Bring the purchase and family-outcome summaries up to date; None when no order changed since last time.

    `force` (and the first run) rebuilds everything; otherwise only the families with an order changed since
    the last run, and their customers' purchase numbers. Returns the number of purchases. The settings row
    is locked, so two refreshes of a tenant run one after the other.
    """
    settings = locks.lock_settings(tenant=tenant, revenue_groups=default_revenue_groups())
    latest = Order.objects.filter(tenant=tenant).aggregate(latest=Max("updated_at"))["latest"]
    seen = settings.purchases_seen_change
    refreshed = settings.purchases_refreshed_at
    # A change saved before `seen` may commit after the last run read: skip only once that run came an OVERLAP
    # after `seen`, when such late commits are in (the incremental rebuild re-reads the OVERLAP too).
    settled = seen is not None and refreshed is not None and refreshed - seen >= OVERLAP
    if not force and refreshed and (latest is None or (settled and latest <= seen)):
        return None
    groups = [g for g in settings.revenue_groups if g != "cancel"] or default_revenue_groups()
    params = {"tenant": tenant.pk, "groups": groups, "tz": timezone.get_current_timezone_name()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])
        if force or not settings.purchases_refreshed_at or seen is None:
            cursor.execute("DELETE FROM analytics_purchase WHERE tenant_id = %s", [tenant.pk])
            cursor.execute(REBUILD_SQL, params)
            cursor.execute("DELETE FROM analytics_familyoutcome WHERE tenant_id = %s", [tenant.pk])
            cursor.execute(FAMILIES_FULL_SQL, params)
            cursor.execute("ANALYZE analytics_purchase")  # fresh statistics, or the planner guesses 20 rows
            cursor.execute("ANALYZE analytics_familyoutcome")
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
    cursor.execute(
        "DELETE FROM analytics_familyoutcome WHERE tenant_id = %(tenant)s "
        "AND root_id IN (SELECT root_id FROM analytics_changed)",
        params,
    )
    cursor.execute(FAMILIES_CHANGED_SQL, params)


@transaction.atomic
def refresh_stays(*, tenant, force: bool = False) -> int | None:
    """Bring the tenant's stay summary and its histogram up to date from the timeline; None when nothing new.

    `force` (and the first run) rebuilds everything; otherwise the stays of the orders with timeline entries
    after the last one read, their old counts taken out of the histogram and the new ones added. Returns how
    many stays were written.
    """
    settings = locks.lock_settings(tenant=tenant, revenue_groups=default_revenue_groups())
    params = {"tenant": tenant.pk, "tz": timezone.get_current_timezone_name()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM orders_orderactivity WHERE tenant_id = %(tenant)s", params)
        latest = cursor.fetchone()[0]
        seen = settings.stays_seen_activity
        if not force and seen is not None and (latest is None or latest <= seen):
            return None
        cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])
        if force or seen is None:
            cursor.execute("DELETE FROM analytics_stay WHERE tenant_id = %(tenant)s", params)
            cursor.execute(STAYS_FULL_SQL, params)
            written = cursor.rowcount
            cursor.execute("DELETE FROM analytics_stayhistogram WHERE tenant_id = %(tenant)s", params)
            cursor.execute(HISTOGRAM_SQL.replace("/*orders*/", ""), {**params, "sign": 1})
            cursor.execute("ANALYZE analytics_stay")
            cursor.execute("ANALYZE analytics_stayhistogram")
        else:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.analytics_changed_orders")
            cursor.execute(
                "CREATE TEMP TABLE analytics_changed_orders ON COMMIT DROP AS SELECT DISTINCT order_id "
                "FROM orders_orderactivity WHERE tenant_id = %(tenant)s AND id > %(since)s",
                {**params, "since": seen - STAYS_OVERLAP_IDS},
            )
            cursor.execute(HISTOGRAM_CHANGED_SQL, {**params, "sign": -1})
            cursor.execute(
                "DELETE FROM analytics_stay WHERE tenant_id = %(tenant)s "
                "AND order_id IN (SELECT order_id FROM analytics_changed_orders)",
                params,
            )
            cursor.execute(STAYS_CHANGED_SQL, params)
            written = cursor.rowcount
            cursor.execute(HISTOGRAM_CHANGED_SQL, {**params, "sign": 1})
            cursor.execute("DELETE FROM analytics_stayhistogram WHERE tenant_id = %(tenant)s AND stays = 0", params)
    settings.stays_seen_activity = latest
    settings.save(update_fields=["stays_seen_activity"])
    return written


REBUILD_JOB = "analytics.rebuild"


def rebuild_job(tenant, progress) -> JobResult:
    """ "Rebuild now" as a job: both summaries, forced."""
    progress(5, gettext("Rebuilding the purchase summary"))
    purchases = refresh_purchases(tenant=tenant, force=True)
    progress(60, gettext("Rebuilding the time in statuses"))
    stays = refresh_stays(tenant=tenant, force=True)
    return JobResult(
        summary=gettext("Summaries rebuilt: %(purchases)s purchases, %(stays)s stays.")
        % {"purchases": purchases, "stays": stays}
    )


def refresh_summaries(*, tenant, force: bool = False) -> dict:
    """Both summaries, each in its own transaction; what the beat task and "Rebuild now" run."""
    return {
        "purchases": refresh_purchases(tenant=tenant, force=force),
        "stays": refresh_stays(tenant=tenant, force=force),
    }

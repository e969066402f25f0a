"""Selectors for the owners' reports: each report is one SQL query of aggregates and window functions.

Rules every report shares (see `PURCHASES`, which `services.refresh_purchases` materialises into the
`analytics_purchase` summary that the cohort, lifetime-value and channel reports read):
- a purchase is an order family (`root_id`): the root with its split-off children and copies counts once;
- its date, customer and channel are the root's; its revenue is the sum of the totals of the family's orders
  in the tenant's revenue groups (`AnalyticsSettings.revenue_groups`, default `complete`), less what was refunded
  for goods the customer sent back (an exchange order of the family counts as what it was sold for);
- a family with no order in a revenue group is no purchase; cancelled orders never count; nor is a family whose
  goods all came back and were refunded (its revenue, what it paid for delivery, leaves with it);
- every query filters on `tenant_id` first, and takes only parameters, never formatted values.

Python only reshapes the aggregated rows (a few hundred at most), never loops over orders.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from oms import replica
from oms.event_catalogue import OrderOverdue

from .models import REVENUE_GROUP_CHOICES, AnalyticsSettings, default_revenue_groups

STAGES = ["new", "approval", "assembly", "delivery", "complete"]
GROUPS = [*STAGES, "cancel"]
GROUP_WORDS = [*REVENUE_GROUP_CHOICES, ("cancel", gettext_lazy("Cancel"))]


@dataclass(frozen=True)
class ReportFilters:
    date_from: date | None = None  # inclusive, in the current time zone
    date_to: date | None = None  # inclusive
    channel: str = ""
    period: str = "month"  # cohorts: "month" or "week"
    metric: str = "customers"  # cohorts: "customers" or "revenue"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_current_timezone()
        start = datetime.combine(self.date_from, time.min, tzinfo=tz) if self.date_from else None
        end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=tz) if self.date_to else None
        return start, end

    def params(self, tenant, groups: list[str]) -> dict:
        start, end = self.bounds()
        return {
            "tenant": tenant.pk,
            "groups": [g for g in groups if g != "cancel"] or default_revenue_groups(),
            "channel": self.channel or "",
            "period": "week" if self.period == "week" else "month",
            "tz": timezone.get_current_timezone_name(),
            "start": start,
            "end": end,
        }


def revenue_groups(tenant) -> list[str]:
    return summary_state(tenant)["revenue_groups"]


def summary_state(tenant) -> dict:
    """The revenue groups in force and when the purchase summary was last rebuilt (None: not yet)."""
    row = AnalyticsSettings.objects.filter(tenant=tenant).values("revenue_groups", "purchases_refreshed_at").first()
    if row is None:
        return {"revenue_groups": default_revenue_groups(), "refreshed_at": None}
    return {"revenue_groups": list(row["revenue_groups"]), "refreshed_at": row["purchases_refreshed_at"]}


# Enough memory for the sorts and hashes of a million-order tenant to stay off disk; for this transaction only.
REPORT_WORK_MEM = "96MB"


@contextmanager
def report_transaction():
    """One read transaction for a page's reports, on the read replica when there is one (oms/replica.py), with
    `work_mem` raised (and JIT off) for it only. Yields the database alias it reads from."""
    with replica.replica_reads() as alias, transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        # JIT compilation costs more than it saves on these sub-second aggregates.
        cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", [REPORT_WORK_MEM])
        yield alias


def _fetch(sql: str, params: dict) -> list[tuple]:
    database = replica.reading_connection()
    if not database.in_atomic_block:
        with report_transaction():
            return _fetch(sql, params)
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Long enough for an idle shop's owners to reopen a report all day; a rebuilt summary is a new key anyway.
SUMMARY_ROWS_SECONDS = 3600


def _fetch_summary(sql: str, params: dict, as_of: datetime | None) -> list[tuple]:
    """The rows of a query that reads only the purchase summary, kept in the cache until the summary is rebuilt.

    `as_of` is the rebuild's time (`summary_state`), read before the rows: the same query on the same rebuild
    answers the same rows, so the key is the query text, its parameters (shop, range, time zone, ...) and `as_of`.
    Rows, not reports, are kept: a deploy that changes a query changes its key, and the shaping stays in code.
    """
    if as_of is None:
        return _fetch(sql, params)
    digest = hashlib.sha256(f"{sql}\0{params!r}\0{as_of.isoformat()}".encode()).hexdigest()
    key = f"summary-rows:{params['tenant']}:{digest}"
    rows = cache.get(key)
    if rows is None:
        rows = _fetch(sql, params)
        cache.set(key, rows, SUMMARY_ROWS_SECONDS)
    return rows


# One row per purchase (order family with revenue). `o.created_at >= start` may prune early: children are
# always created after their root, so a family whose root is in range keeps every member.
PURCHASES = """
purchases AS (
    SELECT o.root_id,
           MIN(o.customer_id) FILTER (WHERE o.id = o.root_id) AS customer_id,
           MIN(o.created_at) FILTER (WHERE o.id = o.root_id) AS purchased_at,
           MIN(o.channel) FILTER (WHERE o.id = o.root_id) AS channel,
           COALESCE(SUM(o.total - COALESCE(back.refunded, 0)) FILTER (WHERE o."group" = ANY(%(groups)s)), 0)
               AS revenue
    FROM orders_order o
    LEFT JOIN (
        SELECT cr.order_id, SUM(p.amount) AS refunded
        FROM shipments_customerreturn cr JOIN orders_payment p ON p.id = cr.refund_id AND p.tenant_id = cr.tenant_id
        WHERE cr.tenant_id = %(tenant)s
        GROUP BY cr.order_id
    ) back ON back.order_id = o.id
    WHERE o.tenant_id = %(tenant)s
    GROUP BY o.root_id
    HAVING bool_or(o."group" = ANY(%(groups)s)) AND bool_or(o.id = o.root_id)
       -- goods that all came back refunded (the refund of a whole order is its total less delivery) undo it
       AND NOT COALESCE(SUM(back.refunded) FILTER (WHERE o."group" = ANY(%(groups)s))
                        >= SUM(o.total - o.delivery_cost) FILTER (WHERE o."group" = ANY(%(groups)s)), false)
)
"""


# --- cohorts and lifetime value ----------------------------------------------------------------------------


@dataclass
class CohortRow:
    cohort: date
    size: int  # customers whose first purchase fell in this period
    revenue0: Decimal  # revenue of the first period
    cells: list[dict] = field(default_factory=list)  # per age: customers, purchases, revenue, cumulative


@dataclass
class CohortReport:
    period: str
    rows: list[CohortRow]
    ages: list[int]
    customers: int
    purchases: int
    revenue: Decimal
    repeaters: int

    @property
    def average_order_value(self) -> Decimal:
        return (self.revenue / self.purchases).quantize(Decimal("0.01")) if self.purchases else Decimal("0.00")

    @property
    def purchase_frequency(self) -> Decimal:
        return (Decimal(self.purchases) / self.customers).quantize(Decimal("0.01")) if self.customers else Decimal(0)

    @property
    def repeat_rate(self) -> Decimal:
        return (
            (Decimal(100 * self.repeaters) / self.customers).quantize(Decimal("0.1")) if self.customers else Decimal(0)
        )


# Two hash aggregations instead of a sort for COUNT(DISTINCT): per (cohort, age, customer), then per cell.
COHORT_CELLS = """
per_customer AS (
    SELECT cohort::date AS cohort,
           CASE WHEN %(period)s = 'week' THEN (bucket::date - cohort::date) / 7
                ELSE ((EXTRACT(YEAR FROM bucket) - EXTRACT(YEAR FROM cohort)) * 12
                      + EXTRACT(MONTH FROM bucket) - EXTRACT(MONTH FROM cohort))::int END AS age,
           customer_id,
           COUNT(*) AS purchases,
           SUM(revenue) AS revenue,
           COUNT(*) FILTER (WHERE n = 2) AS repeaters
    FROM bucketed
    GROUP BY 1, 2, 3
),
cells AS (
    SELECT cohort, age, COUNT(*) AS customers, SUM(purchases) AS purchases, SUM(revenue) AS revenue,
           SUM(repeaters) AS repeaters
    FROM per_customer
    GROUP BY 1, 2
)
SELECT cohort, age, customers, purchases::bigint, revenue, repeaters::bigint,
       SUM(revenue) OVER (PARTITION BY cohort ORDER BY age) AS cumulative
FROM cells
ORDER BY cohort, age
"""

# All channels: the summary holds each purchase's cohort, age and whether it is its customer's first in that
# period, so a cell is one hash aggregate over a covering index: no sort, no COUNT(DISTINCT).
COHORT_MONTH_SQL = """
SELECT first_month AS cohort, month_age AS age,
       COUNT(*) FILTER (WHERE month_first) AS customers, COUNT(*) AS purchases, SUM(revenue) AS revenue,
       COUNT(*) FILTER (WHERE seq = 2) AS repeaters,
       SUM(SUM(revenue)) OVER (PARTITION BY first_month ORDER BY month_age) AS cumulative
FROM analytics_purchase
WHERE tenant_id = %(tenant)s
  AND first_at >= COALESCE(%(start)s::timestamptz, '-infinity')
  AND first_at < COALESCE(%(end)s::timestamptz, 'infinity')
GROUP BY first_month, month_age
ORDER BY first_month, month_age
"""
COHORT_WEEK_SQL = """
SELECT first_week AS cohort, week_age AS age,
       COUNT(*) FILTER (WHERE week_first) AS customers, COUNT(*) AS purchases, SUM(revenue) AS revenue,
       COUNT(*) FILTER (WHERE seq = 2) AS repeaters,
       SUM(SUM(revenue)) OVER (PARTITION BY first_week ORDER BY week_age) AS cumulative
FROM analytics_purchase
WHERE tenant_id = %(tenant)s
  AND first_at >= COALESCE(%(start)s::timestamptz, '-infinity')
  AND first_at < COALESCE(%(end)s::timestamptz, 'infinity')
GROUP BY first_week, week_age
ORDER BY first_week, week_age
"""

# One channel: first purchase and purchase number among that channel's purchases (window functions).
COHORT_CHANNEL_SQL = "".join(
    [
        """
WITH ranked AS (
    SELECT customer_id, purchased_at, revenue,
           MIN(purchased_at) OVER w AS first_at, ROW_NUMBER() OVER w AS n
    FROM analytics_purchase
    WHERE tenant_id = %(tenant)s AND channel = %(channel)s
    WINDOW w AS (PARTITION BY customer_id ORDER BY purchased_at, root_id)
),
bucketed AS (
    SELECT customer_id, revenue, n,
           date_trunc(%(period)s, first_at AT TIME ZONE %(tz)s) AS cohort,
           date_trunc(%(period)s, purchased_at AT TIME ZONE %(tz)s) AS bucket
    FROM ranked
    WHERE first_at >= COALESCE(%(start)s::timestamptz, '-infinity')
      AND first_at < COALESCE(%(end)s::timestamptz, 'infinity')
),""",
        COHORT_CELLS,
    ]
)


def _periods_between(first: date, last: date, period: str) -> int:
    if period == "week":
        return (last - first).days // 7
    return (last.year - first.year) * 12 + last.month - first.month


def _period_start(day: date, period: str) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def cohort_report(*, tenant, filters: ReportFilters, as_of: datetime | None = None) -> CohortReport:
    """Customers grouped by the period of their first purchase; their purchases in each later period.

    One query. The date range selects cohorts (first purchase in range); their later purchases all count.
    `as_of`: the summary's rebuild time, when the caller has read it; its rows are then served from the cache.
    """
    params = filters.params(tenant, [])
    if params["channel"]:
        sql = COHORT_CHANNEL_SQL
    else:
        sql = COHORT_WEEK_SQL if params["period"] == "week" else COHORT_MONTH_SQL
    rows = _fetch_summary(sql, params, as_of)
    today = timezone.localdate()
    current = _period_start(today, params["period"])
    by_cohort: dict[date, dict[int, tuple]] = {}
    for cohort, age, customers, purchases, revenue, repeaters, cumulative in rows:
        by_cohort.setdefault(cohort, {})[age] = (customers, purchases, revenue or Decimal(0), repeaters, cumulative)
    result, max_age = [], 0
    for cohort, cells in by_cohort.items():
        size = cells.get(0, (0,))[0]
        observable = max(_periods_between(cohort, current, params["period"]), max(cells))
        max_age = max(max_age, observable)
        row = CohortRow(cohort=cohort, size=size, revenue0=cells.get(0, (0, 0, Decimal(0)))[2])
        cumulative = Decimal(0)
        for age in range(observable + 1):
            customers, purchases, revenue, _, cum = cells.get(age, (0, 0, Decimal("0.00"), 0, None))
            cumulative = cum if cum is not None else cumulative
            row.cells.append(
                {
                    "age": age,
                    "customers": customers,
                    "purchases": purchases,
                    "revenue": revenue,
                    "share": (Decimal(100 * customers) / size).quantize(Decimal("0.1")) if size else Decimal(0),
                    "revenue_share": (Decimal(100) * revenue / row.revenue0).quantize(Decimal("0.1"))
                    if row.revenue0
                    else Decimal(0),
                    "ltv": (cumulative / size).quantize(Decimal("0.01")) if size else Decimal(0),
                }
            )
        result.append(row)
    return CohortReport(
        period=params["period"],
        rows=result,
        ages=list(range(max_age + 1)),
        customers=sum(r.size for r in result),
        purchases=sum(c[1] for cells in by_cohort.values() for c in cells.values()),
        revenue=sum((c[2] for cells in by_cohort.values() for c in cells.values()), Decimal(0)),
        repeaters=sum(c[3] for cells in by_cohort.values() for c in cells.values()),
    )


# --- revenue by channel ------------------------------------------------------------------------------------

# One pass over the covering (tenant_id, purchased_at) index; hashed grouping sets. "New customers" are the
# purchases that were their customer's first (seq = 1), which needs no COUNT(DISTINCT).
CHANNEL_SQL = """
SELECT channel, month, COUNT(*) AS purchases, SUM(revenue) AS revenue, COUNT(*) FILTER (WHERE seq = 1) AS new
FROM analytics_purchase
WHERE tenant_id = %(tenant)s
  AND purchased_at >= COALESCE(%(start)s::timestamptz, '-infinity')
  AND purchased_at < COALESCE(%(end)s::timestamptz, 'infinity')
  AND (%(channel)s = '' OR channel = %(channel)s)
GROUP BY GROUPING SETS ((channel, month), (channel), (month), ())
"""


@dataclass
class ChannelReport:
    channels: list[dict]  # channel, purchases, revenue, customers (new: first purchases), aov, share
    months: list[dict]  # month, purchases, revenue
    purchases: int
    revenue: Decimal
    customers: int  # new customers: first purchases in the range

    @property
    def average_order_value(self) -> Decimal:
        return (self.revenue / self.purchases).quantize(Decimal("0.01")) if self.purchases else Decimal("0.00")


def channel_report(*, tenant, filters: ReportFilters, as_of: datetime | None = None) -> ChannelReport:
    """Purchases and revenue by channel (and by month), for purchases made in the date range. One query.

    `as_of` as for `cohort_report`."""
    params = filters.params(tenant, [])
    channels, months, total = [], [], (0, Decimal(0), 0)
    for channel, month, purchases, revenue, new in _fetch_summary(CHANNEL_SQL, params, as_of):
        revenue = revenue or Decimal(0)
        if channel is not None and month is None:
            channels.append({"channel": channel, "purchases": purchases, "revenue": revenue, "customers": new})
        elif channel is None and month is not None:
            months.append({"month": month, "purchases": purchases, "revenue": revenue})
        elif channel is None and month is None:
            total = (purchases, revenue, new)
    for row in channels:
        row["aov"] = (row["revenue"] / row["purchases"]).quantize(Decimal("0.01"))
        row["share"] = (Decimal(100) * row["revenue"] / total[1]).quantize(Decimal("0.1")) if total[1] else Decimal(0)
    channels.sort(key=lambda r: (-r["revenue"], r["channel"]))
    months.sort(key=lambda r: r["month"])
    return ChannelReport(channels=channels, months=months, purchases=total[0], revenue=total[1], customers=total[2])


# --- time in status and group ------------------------------------------------------------------------------

# A stay starts at an order's entry (its "created" activity, or the child's "split_from"/"copied") or at a
# status change, and ends at the next status change (LEAD). The entry's status is the "from" of the next
# change; a group stay is a run of consecutive stays in one group. Stays still open (no next change) are
# left out: they have no duration yet. `services.refresh_stays` materialises these into `analytics_stay`;
# /*orders*/ is where it narrows the timeline to the orders changed since its last run.
STAYS_SQL = """
WITH ev AS (
    SELECT a.id, a.order_id, a.at,
           a.changes -> 'status' ->> 0 AS status_from, a.changes -> 'status' ->> 1 AS status_to,
           a.changes -> 'group' ->> 0 AS group_from, a.changes -> 'group' ->> 1 AS group_to
    FROM orders_orderactivity a
    WHERE a.tenant_id = %(tenant)s
      AND (a.kind IN ('created', 'split_from', 'status_changed') OR (a.kind = 'copied' AND a.changes ? 'parent'))
      /*orders*/
),
stays AS (
    SELECT order_id, at AS entered, id,
           COALESCE(status_to, LEAD(status_from) OVER w) AS status,
           COALESCE(group_to, LEAD(group_from) OVER w) AS grp,
           LEAD(at) OVER w AS left_at
    FROM ev
    WINDOW w AS (PARTITION BY order_id ORDER BY at, id)
),
marked AS (
    SELECT *, CASE WHEN grp IS DISTINCT FROM LAG(grp) OVER w THEN 1 ELSE 0 END AS group_starts
    FROM stays
    WINDOW w AS (PARTITION BY order_id ORDER BY entered, id)
),
runs AS (
    SELECT *, SUM(group_starts) OVER (PARTITION BY order_id ORDER BY entered, id) AS run
    FROM marked
),
group_stays AS (
    SELECT order_id, grp, MIN(entered) AS entered,
           CASE WHEN bool_and(left_at IS NOT NULL) THEN MAX(left_at) END AS left_at
    FROM runs
    GROUP BY order_id, run, grp
)
INSERT INTO analytics_stay (tenant_id, order_id, kind, name, channel, entered_at, seconds)
SELECT %(tenant)s, s.order_id, 'status', s.status, o.channel, s.entered, EXTRACT(EPOCH FROM s.left_at - s.entered)
FROM stays s JOIN orders_order o ON o.id = s.order_id
WHERE s.left_at IS NOT NULL AND s.status IS NOT NULL
UNION ALL
SELECT %(tenant)s, g.order_id, 'group', g.grp, o.channel, g.entered, EXTRACT(EPOCH FROM g.left_at - g.entered)
FROM group_stays g JOIN orders_order o ON o.id = g.order_id
WHERE g.left_at IS NOT NULL AND g.grp IS NOT NULL
"""

# Whole months of the range are counted in the histogram (models.StayHistogram), the partial months at its
# edges in the stays themselves, bucketed alike; then percentile_cont's rule over the bucket values: the value
# at 0-based position f * (n - 1) in order, interpolated between its neighbours.
DURATION_SQL = """
WITH counted AS (
    SELECT kind, name, bucket, stays AS n
    FROM analytics_stayhistogram
    WHERE tenant_id = %(tenant)s AND %(use_months)s
      AND (%(month_from)s::date IS NULL OR month >= %(month_from)s::date)
      AND (%(month_to)s::date IS NULL OR month < %(month_to)s::date)
      AND (%(channel)s = '' OR channel = %(channel)s)
    UNION ALL
    SELECT kind, name, analytics_duration_bucket(seconds), COUNT(*)
    FROM analytics_stay
    WHERE tenant_id = %(tenant)s
      AND ((entered_at >= %(left_from)s::timestamptz AND entered_at < %(left_to)s::timestamptz)
           OR (entered_at >= %(right_from)s::timestamptz AND entered_at < %(right_to)s::timestamptz))
      AND (%(channel)s = '' OR channel = %(channel)s)
    GROUP BY 1, 2, 3
),
per_bucket AS (
    SELECT kind, name, bucket, SUM(n) AS n FROM counted GROUP BY kind, name, bucket
),
ranked AS (
    SELECT kind, name, analytics_bucket_seconds(bucket) AS seconds,
           SUM(n) OVER w - n AS below, SUM(n) OVER w AS upto, SUM(n) OVER (PARTITION BY kind, name) AS total
    FROM per_bucket
    WINDOW w AS (PARTITION BY kind, name ORDER BY bucket)
),
positions AS (
    SELECT *, 0.5 * (total - 1) AS at50, 0.9 * (total - 1) AS at90 FROM ranked
),
picked AS (
    SELECT kind, name, MAX(total) AS total, MAX(at50) AS at50, MAX(at90) AS at90,
           MAX(seconds) FILTER (WHERE below <= floor(at50) AND floor(at50) < upto) AS lo50,
           MAX(seconds) FILTER (WHERE below <= ceil(at50) AND ceil(at50) < upto) AS hi50,
           MAX(seconds) FILTER (WHERE below <= floor(at90) AND floor(at90) < upto) AS lo90,
           MAX(seconds) FILTER (WHERE below <= ceil(at90) AND ceil(at90) < upto) AS hi90
    FROM positions
    GROUP BY kind, name
)
SELECT kind, name, total::bigint,
       lo50 + (at50 - floor(at50))::float8 * (hi50 - lo50),
       lo90 + (at90 - floor(at90))::float8 * (hi90 - lo90)
FROM picked
WHERE total > 0
"""


def _month_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return datetime.combine(local.date().replace(day=1), time.min, tzinfo=local.tzinfo)


def _next_month(month: datetime) -> datetime:
    return datetime.combine((month.date() + timedelta(days=32)).replace(day=1), time.min, tzinfo=month.tzinfo)


def duration_ranges(start: datetime | None, end: datetime | None) -> dict:
    """Split [start, end) into whole months (read from the histogram) and up to two partial edges (stays).

    An open end takes the running month whole: no stay begins in the future.
    """
    month_from = (
        None if start is None else (start if start == _month_start(start) else _next_month(_month_start(start)))
    )
    month_to = None if end is None else _month_start(end)
    none = {"left_from": None, "left_to": None, "right_from": None, "right_to": None}
    if month_from is not None and month_to is not None and month_from >= month_to:
        return {**none, "use_months": False, "month_from": None, "month_to": None, "left_from": start, "left_to": end}
    edges = dict(none)
    if start is not None and start < month_from:
        edges.update(left_from=start, left_to=month_from)
    if end is not None and month_to < end:
        edges.update(right_from=month_to, right_to=end)
    return {
        **edges,
        "use_months": True,
        "month_from": month_from and month_from.date(),
        "month_to": month_to and month_to.date(),
    }


@dataclass
class DurationReport:
    statuses: list[dict]  # code, name, group, stays, median (s), p90 (s)
    groups: list[dict]


def status_names(tenant) -> dict[str, tuple[str, str, int]]:
    """code → (name, group, position) of the tenant's statuses, switched-off ones too."""
    from orders.models import OrderStatus

    rows = OrderStatus.objects.filter(tenant=tenant).values_list("code", "name", "group", "position", "pk")
    return {code: (name, group, position, pk) for code, name, group, position, pk in rows}


def duration_report(*, tenant, filters: ReportFilters, statuses: dict | None = None) -> DurationReport:
    """Median and 90th percentile of time spent in each status and each group, for stays begun in range.

    Durations count at the precision the page shows (see models.StayHistogram), so a median is exact to it.
    """
    params = filters.params(tenant, [])
    params.update(duration_ranges(params["start"], params["end"]))
    statuses = statuses if statuses is not None else status_names(tenant)
    by_status, by_group = [], []
    for kind, name, stays, median, p90 in _fetch(DURATION_SQL, params):
        row = {"code": name, "stays": stays, "median": float(median), "p90": float(p90)}
        if kind == "status":
            label, group, position, _ = statuses.get(name, (name, "", 10**6, None))
            group_label = str(dict(GROUP_WORDS).get(group, group))
            by_status.append({**row, "name": label, "group": group, "group_label": group_label, "position": position})
        else:
            by_group.append({**row, "name": str(dict(GROUP_WORDS).get(name, name.title()))})
    by_status.sort(key=lambda r: (GROUPS.index(r["group"]) if r["group"] in GROUPS else 9, r["position"], r["code"]))
    by_group.sort(key=lambda r: GROUPS.index(r["code"]) if r["code"] in GROUPS else 9)
    return DurationReport(statuses=by_status, groups=by_group)


# --- funnel ------------------------------------------------------------------------------------------------

# Per family: the furthest stage any of its orders reached — for a cancelled order, the group it was cancelled
# from (its last change into `cancel`) — whether every order of it was cancelled, and then which cancel status.
# `services.refresh_purchases` materialises this into `analytics_familyoutcome` (/*families*/ and /*cancels*/
# narrow it to the families changed since its last run); the funnel counts those rows.
FAMILIES_SQL = """
WITH cancels AS (
    SELECT DISTINCT ON (a.order_id) a.order_id, a.changes -> 'group' ->> 0 AS from_group
    FROM orders_orderactivity a
    WHERE a.tenant_id = %(tenant)s AND a.kind = 'status_changed' AND (a.changes -> 'group' ->> 1) = 'cancel'
      /*cancels*/
    ORDER BY a.order_id, a.at DESC, a.id DESC
),
families AS (
    SELECT o.root_id,
           MAX(CASE WHEN o."group" = 'cancel'
                    THEN COALESCE(array_position(ARRAY['new', 'approval', 'assembly', 'delivery', 'complete'],
                                                 c.from_group::text), 1)
                    ELSE array_position(ARRAY['new', 'approval', 'assembly', 'delivery', 'complete'], o."group"::text)
               END) AS reach,
           bool_and(o."group" = 'cancel') AS cancelled,
           MIN(o.status_id) FILTER (WHERE o."group" = 'cancel') AS cancel_status_id,
           MIN(o.created_at) FILTER (WHERE o.id = o.root_id) AS created_at,
           MIN(o.channel) FILTER (WHERE o.id = o.root_id) AS channel
    FROM orders_order o
    LEFT JOIN cancels c ON c.order_id = o.id AND o."group" = 'cancel'
    WHERE o.tenant_id = %(tenant)s /*families*/
    GROUP BY o.root_id
)
INSERT INTO analytics_familyoutcome (tenant_id, root_id, created_at, channel, reach, cancelled, cancel_status_id)
SELECT %(tenant)s, root_id, created_at, channel, COALESCE(reach, 1), cancelled,
       CASE WHEN cancelled THEN cancel_status_id END
FROM families
WHERE created_at IS NOT NULL
"""

FUNNEL_SQL = """
SELECT reach, cancelled, cancel_status_id, COUNT(*)
FROM analytics_familyoutcome
WHERE tenant_id = %(tenant)s
  AND created_at >= COALESCE(%(start)s::timestamptz, '-infinity')
  AND created_at < COALESCE(%(end)s::timestamptz, 'infinity')
  AND (%(channel)s = '' OR channel = %(channel)s)
GROUP BY 1, 2, 3
"""


@dataclass
class FunnelReport:
    stages: list[dict]  # stage, reached, share (of started), step (of previous), cancelled, by_status{}
    cancel_statuses: list[str]  # column names, in catalogue order
    started: int


def funnel_report(*, tenant, filters: ReportFilters, statuses: dict | None = None) -> FunnelReport:
    """Families created in range by the furthest stage reached, and where cancelled ones dropped off."""
    params = filters.params(tenant, [])
    statuses = statuses if statuses is not None else status_names(tenant)
    name_by_pk = {pk: name for name, _, _, pk in statuses.values()}
    reached = dict.fromkeys(range(1, 6), 0)
    dropped: dict[int, dict[str, int]] = {rank: {} for rank in range(1, 6)}
    for reach, cancelled, status_id, count in _fetch(FUNNEL_SQL, params):
        reach = reach or 1
        for rank in range(1, reach + 1):
            reached[rank] += count
        if cancelled:
            label = name_by_pk.get(status_id, "Cancelled")
            dropped[reach][label] = dropped[reach].get(label, 0) + count
    cancel_columns = [v[0] for v in sorted(statuses.values(), key=lambda v: v[2]) if v[1] == "cancel"]
    cancel_columns += sorted({label for d in dropped.values() for label in d} - set(cancel_columns))
    started, stages, previous = reached[1], [], reached[1]
    for rank, stage in enumerate(STAGES, start=1):
        stages.append(
            {
                "stage": stage,
                "label": str(dict(GROUP_WORDS).get(stage, stage.title())),
                "reached": reached[rank],
                "share": (Decimal(100 * reached[rank]) / started).quantize(Decimal("0.1")) if started else Decimal(0),
                "step": (Decimal(100 * reached[rank]) / previous).quantize(Decimal("0.1")) if previous else Decimal(0),
                "cancelled": sum(dropped[rank].values()),
                "by_status": [dropped[rank].get(label, 0) for label in cancel_columns],
            }
        )
        previous = reached[rank]
    return FunnelReport(stages=stages, cancel_statuses=cancel_columns, started=started)


# --- SLA breaches ------------------------------------------------------------------------------------------

# Breaches are the `order.overdue` events the time-limit sweep records (payload: order_id, and where known
# status, manager_id); the status and manager fall back to the order's current ones. "Overdue now" counts
# orders whose current status's deadline the sweep marked passed (notifications' OrderDeadline).
SLA_SQL = """
WITH breaches AS (
    SELECT e.id,
           o.id AS order_id,
           COALESCE(CASE WHEN (e.payload ->> 'manager_id') ~ '^[0-9]{1,18}$'
                         THEN (e.payload ->> 'manager_id')::bigint END, o.manager_id) AS manager_id,
           COALESCE(NULLIF(e.payload ->> 'status', ''), s.code) AS status
    FROM oms_event e
    JOIN orders_order o ON o.tenant_id = e.tenant_id
         AND o.id = CASE WHEN (e.payload ->> 'order_id') ~ '^[0-9]{1,18}$' THEN (e.payload ->> 'order_id')::bigint END
    LEFT JOIN orders_orderstatus s ON s.id = o.status_id
    WHERE e.tenant_id = %(tenant)s AND e.kind = %(overdue_kind)s
      AND e.created_at >= COALESCE(%(start)s::timestamptz, '-infinity')
      AND e.created_at < COALESCE(%(end)s::timestamptz, 'infinity')
      AND (%(channel)s = '' OR o.channel = %(channel)s)
),
counted AS (
    SELECT CASE WHEN GROUPING(manager_id) = 0 THEN 'manager' ELSE 'status' END AS kind,
           manager_id, status, COUNT(*) AS breaches, COUNT(DISTINCT order_id) AS orders, 0 AS overdue_now
    FROM breaches
    GROUP BY GROUPING SETS ((manager_id), (status))
    UNION ALL
    SELECT 'now', o.manager_id, NULL, 0, 0, COUNT(*)
    FROM orders_order o
    JOIN notifications_orderdeadline d ON d.order_id = o.id AND d.started_at = o.status_changed_at
    WHERE o.tenant_id = %(tenant)s AND d.tenant_id = %(tenant)s AND d.overdue_at IS NOT NULL
      AND (%(channel)s = '' OR o.channel = %(channel)s)
    GROUP BY o.manager_id
)
SELECT c.kind, c.manager_id, u.username, c.status, c.breaches, c.orders, c.overdue_now
FROM counted c
LEFT JOIN auth_user u ON u.id = c.manager_id
"""


@dataclass
class SlaReport:
    managers: list[dict]  # manager, breaches, orders, overdue_now
    statuses: list[dict]  # code, name, breaches, orders
    breaches: int


def sla_report(*, tenant, filters: ReportFilters, statuses: dict | None = None) -> SlaReport:
    params = {**filters.params(tenant, []), "overdue_kind": OrderOverdue.kind}
    statuses = statuses if statuses is not None else status_names(tenant)
    managers: dict = {}
    by_status = []
    for kind, manager_id, username, status, breaches, orders, overdue_now in _fetch(SLA_SQL, params):
        if kind == "status":
            label, _, position, _ = statuses.get(status, (status or "—", "", 10**6, None))
            by_status.append({"code": status, "name": label, "breaches": breaches, "orders": orders, "pos": position})
            continue
        row = managers.setdefault(
            manager_id, {"manager": username or "Unassigned", "breaches": 0, "orders": 0, "overdue_now": 0}
        )
        row["breaches"] += breaches
        row["orders"] += orders
        row["overdue_now"] += overdue_now
    by_status.sort(key=lambda r: (-r["breaches"], r["pos"]))
    manager_rows = sorted(managers.values(), key=lambda r: (-r["breaches"], -r["overdue_now"], r["manager"]))
    return SlaReport(managers=manager_rows, statuses=by_status, breaches=sum(r["breaches"] for r in by_status))


# --- filter choices ----------------------------------------------------------------------------------------

# Distinct channels by a skip scan over the (tenant_id, channel) index: a few index probes, not a table scan.
CHANNELS_SQL = """
WITH RECURSIVE ch AS (
    (SELECT channel FROM orders_order WHERE tenant_id = %(tenant)s ORDER BY channel LIMIT 1)
    UNION ALL
    SELECT (SELECT o.channel FROM orders_order o
            WHERE o.tenant_id = %(tenant)s AND o.channel > ch.channel ORDER BY o.channel LIMIT 1)
    FROM ch WHERE ch.channel IS NOT NULL
)
SELECT channel FROM ch WHERE channel IS NOT NULL
"""


def channels(tenant) -> list[str]:
    return [row[0] for row in _fetch(CHANNELS_SQL, {"tenant": tenant.pk})]


# --- margins -------------------------------------------------------------------------------------------------


@dataclass
class MarginRow:
    key: str
    revenue: Decimal  # what the costed lines sold for (after their line discounts)
    cost: Decimal
    uncosted: int  # lines sold without a cost price: left out of the margin

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def percent(self) -> Decimal | None:
        return (Decimal(100) * self.margin / self.revenue).quantize(Decimal("0.1")) if self.revenue else None


@dataclass
class MarginReport:
    categories: list[MarginRow]
    channels: list[MarginRow]
    total: MarginRow


def margin_report(*, tenant, filters: ReportFilters) -> MarginReport:
    """Margin over cost by product category and by channel, for lines of orders made in the range that count as
    revenue (the shop's revenue groups). Each line keeps the unit cost of the day it was ordered; lines without
    a cost are counted apart; an order's own discount is not spread over categories.

    Goods the customer sent back are taken out as the return went: units refunded leave the line's revenue (what
    they sold for), units put back on the shelf leave its cost; units written off keep their cost, a loss."""
    from django.db.models import Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    from orders.models import OrderLine
    from shipments.models import CustomerReturnLine, ReturnOutcome, ReturnState

    def returned(**which):
        units = (
            CustomerReturnLine.objects.filter(
                order_line=OuterRef("pk"), customer_return__state=ReturnState.RECEIVED, **which
            )
            .values("order_line")
            .annotate(units=Sum("quantity"))
            .values("units")
        )
        return Coalesce(Subquery(units, output_field=IntegerField()), Value(0))

    params = filters.params(tenant, revenue_groups(tenant))
    lines = OrderLine.objects.filter(tenant=tenant, order__group__in=params["groups"]).annotate(
        refunded_units=returned(customer_return__refund__isnull=False),
        restocked_units=returned(outcome=ReturnOutcome.RESTOCK),
    )
    if params["start"]:
        lines = lines.filter(order__created_at__gte=params["start"])
    if params["end"]:
        lines = lines.filter(order__created_at__lt=params["end"])
    if params["channel"]:
        lines = lines.filter(order__channel=params["channel"])
    costed = Q(cost__isnull=False)
    money = DecimalField(max_digits=14, decimal_places=2)
    sold_amount = F("price") * F("quantity") - F("discount")
    sums = {
        "revenue": Sum(
            sold_amount - sold_amount * F("refunded_units") / F("quantity"), filter=costed, output_field=money
        ),
        "cost_total": Sum(F("cost") * (F("quantity") - F("restocked_units")), filter=costed, output_field=money),
        "uncosted": Count("pk", filter=~costed),
    }

    def row(key: str, totals: dict) -> MarginRow:
        cents = Decimal("0.01")
        return MarginRow(
            key=key,
            revenue=(totals["revenue"] or Decimal(0)).quantize(cents, rounding=ROUND_HALF_UP),
            cost=(totals["cost_total"] or Decimal(0)).quantize(cents, rounding=ROUND_HALF_UP),
            uncosted=totals["uncosted"],
        )

    def by(field: str, blank: str) -> list[MarginRow]:
        return [row(found[field] or blank, found) for found in lines.values(field).annotate(**sums).order_by(field)]

    return MarginReport(
        categories=by("product__category", gettext("No category")),
        channels=by("order__channel", "—"),
        total=row("", lines.aggregate(**sums)),
    )

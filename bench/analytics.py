"""Time of each owners' report on a big shop (default: 1,000,000 orders of 200,000 customers over 24 months).

    python bench/analytics.py [--orders 1000000] [--customers 200000] [--skip-seed] [--skip-rebuild] [--repeat 3]

The cohort, lifetime-value and channel reports read the `analytics_purchase` summary, the funnel its sibling
`analytics_familyoutcome`, and the time-in-status report the monthly `analytics_stayhistogram` plus, for the
partial months at a range's edges, `analytics_stay`; their full rebuilds and the incremental catch-up the
5-minute beat task runs are timed separately.

The database is `BENCH_DATABASE_URL` when set, else the server of `DATABASE_URL` (or 127.0.0.1:5432) with the
database `oms_analytics_bench`, created and migrated on first use. The history comes from
`manage.py seed_bulk` (tenant `bulk`); as seed_bulk writes no timeline and no events, this script then adds,
in SQL, a status timeline for every order (created → ... → its current status, times between its creation and
its last status change) and `order.overdue` events for about 6 % of orders, so the order-flow and SLA reports
have realistic work to do. `--skip-seed` reuses what the tenant has; `--skip-rebuild` also reuses the summaries
(built by an earlier run) and times the reports only.

Production-shaped (bench/common.py): DEBUG off; the history is built as the owner, the summaries rebuilt and the
reports run logged in as the application role with row-level security forced, bound to the shop. Each report is
timed as its page runs it (the page's default date range) and over the whole history; the
figure is the best of `--repeat` runs after one warm-up, with the first (cold) run shown too.
"""

import argparse
import sys
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    as_app_role,
    as_owner,
    bench_database_url,
    bench_redis_url,
    ensure_database,
    load_average,
    setup_django,
)

TARGET_SECONDS = 2.0

PATHS = {
    "new": ["new"],
    "confirmed": ["new", "confirmed"],
    "awaiting-stock": ["new", "confirmed", "awaiting-stock"],
    "assembling": ["new", "confirmed", "assembling"],
    "packed": ["new", "confirmed", "assembling", "packed"],
    "handed-over": ["new", "confirmed", "assembling", "packed", "handed-over"],
    "in-transit": ["new", "confirmed", "assembling", "packed", "handed-over", "in-transit"],
    "at-pickup-point": ["new", "confirmed", "assembling", "packed", "handed-over", "in-transit", "at-pickup-point"],
    "delivered": ["new", "confirmed", "assembling", "packed", "handed-over", "in-transit", "delivered"],
    "refused": ["new", "confirmed", "assembling", "packed", "handed-over", "in-transit", "refused"],
    "returned": ["new", "confirmed", "assembling", "packed", "handed-over", "in-transit", "refused", "returned"],
}
# Cancelled orders leave from one of three points, chosen by order id.
CANCEL_PATHS = [
    ["new", "cancelled"],
    ["new", "confirmed", "cancelled"],
    ["new", "confirmed", "assembling", "cancelled"],
]

TIMELINE_SQL = """
WITH paths(code, variant, path) AS (SELECT * FROM unnest(%(codes)s::text[], %(variants)s::int[], %(paths)s::text[])),
groups AS (SELECT code, "group" FROM orders_orderstatus WHERE tenant_id = %(tenant)s),
planned AS (
    SELECT o.id, o.parent_id, o.created_at, GREATEST(o.status_changed_at, o.created_at) AS changed_at,
           string_to_array(p.path, ',') AS path,
           0.4 + 1.2 * ((hashint8(o.id) & 1023) / 1023.0) AS bend
    FROM orders_order o
    JOIN orders_orderstatus s ON s.id = o.status_id
    JOIN paths p ON p.code = s.code AND p.variant = CASE WHEN s.code = 'cancelled' THEN o.id %% 3 ELSE 0 END
    WHERE o.tenant_id = %(tenant)s
      AND NOT EXISTS (SELECT 1 FROM orders_orderactivity a WHERE a.tenant_id = %(tenant)s AND a.order_id = o.id)
)
INSERT INTO orders_orderactivity (tenant_id, order_id, kind, changes, actor_id, actor_label, at)
SELECT %(tenant)s, p.id,
       CASE WHEN k > 1 THEN 'status_changed' WHEN p.parent_id IS NULL THEN 'created' ELSE 'split_from' END,
       CASE WHEN k = 1 THEN CASE WHEN p.parent_id IS NULL THEN '{}'::jsonb
                                 ELSE jsonb_build_object('parent', p.parent_id::text) END
            ELSE jsonb_build_object('status', jsonb_build_array(p.path[k - 1], p.path[k]),
                                    'group', jsonb_build_array(g1."group", g2."group")) END,
       NULL, 'bench',
       p.created_at + (p.changed_at - p.created_at)
           * power((k - 1)::float8 / GREATEST(array_length(p.path, 1) - 1, 1), p.bend)
FROM planned p
CROSS JOIN LATERAL generate_subscripts(p.path, 1) AS k
LEFT JOIN groups g1 ON g1.code = p.path[GREATEST(k - 1, 1)]
LEFT JOIN groups g2 ON g2.code = p.path[k]
"""

EVENTS_SQL = """
INSERT INTO oms_event (tenant_id, kind, payload, created_at, dispatched_at, attempts, last_error)
SELECT %(tenant)s, 'order.overdue',
       jsonb_build_object('order_id', a.order_id, 'status', a.changes -> 'status' ->> 0,
                          'manager_id', o.manager_id),
       a.at, a.at, 1, ''
FROM orders_orderactivity a
JOIN orders_order o ON o.id = a.order_id
WHERE a.tenant_id = %(tenant)s AND a.kind = 'status_changed' AND (hashint8(a.id) & 1023) < 15
"""


def add_timelines(tenant) -> None:
    """Timeline and overdue events for orders that have none (seed_bulk writes neither)."""
    from django.db import connection, transaction

    codes, variants, paths = [], [], []
    for code, path in PATHS.items():
        codes.append(code), variants.append(0), paths.append(",".join(path))
    for variant, path in enumerate(CANCEL_PATHS):
        codes.append("cancelled"), variants.append(variant), paths.append(",".join(path))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM orders_orderactivity WHERE tenant_id = %s AND actor_label = 'bench')",
            [tenant.pk],
        )
        if cursor.fetchone()[0]:
            print("timeline: already added by an earlier run")
            return
    began = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', '256MB', true)")
        cursor.execute(TIMELINE_SQL, {"tenant": tenant.pk, "codes": codes, "variants": variants, "paths": paths})
        added = cursor.rowcount
        if added:
            cursor.execute(EVENTS_SQL, {"tenant": tenant.pk})
            events = cursor.rowcount
        else:
            events = 0
    print(f"timeline: {added} activities and {events} overdue events added in {time.monotonic() - began:.1f} s")
    if added:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) orders_orderactivity, oms_event, orders_order")


def time_summary_rebuilds(tenant) -> None:
    """Full rebuilds of the summaries, then the incremental catch-up the 5-minute beat task runs. The rebuilds run
    as the reports worker runs them (the application role, inside the shop); the VACUUMs between, as the owner."""
    from contextlib import contextmanager

    from django.db import connection
    from django.db.models import F

    from analytics.models import AnalyticsSettings
    from analytics.services import refresh_purchases, refresh_stays
    from oms import rls

    @contextmanager
    def as_worker():
        as_app_role(quiet=True)
        try:
            with rls.tenant_context(tenant.pk):
                yield
        finally:
            as_owner()

    with as_worker():
        began = time.monotonic()
        stays = refresh_stays(tenant=tenant, force=True)
        print(f"stay summary: full rebuild of {stays} stays in {time.monotonic() - began:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) analytics_stay, analytics_stayhistogram")
    with as_worker():
        began = time.monotonic()
        purchases = refresh_purchases(tenant=tenant, force=True)
        print(f"purchase summary: full rebuild of {purchases} purchases in {time.monotonic() - began:.1f} s")
    with connection.cursor() as cursor:  # as autovacuum would soon after: visibility map for index-only scans
        cursor.execute("VACUUM (ANALYZE) analytics_purchase, analytics_familyoutcome")
    with connection.cursor() as cursor:  # what the 5-minute beat task does: families changed since the last run
        cursor.execute(
            "UPDATE orders_order SET updated_at = now() WHERE id IN "
            "(SELECT id FROM orders_order WHERE tenant_id = %s ORDER BY id DESC LIMIT 2000)",
            [tenant.pk],
        )
    with as_worker():
        began = time.monotonic()
        refresh_purchases(tenant=tenant)
        print(f"purchase summary: incremental rebuild after 2000 changed orders in {time.monotonic() - began:.1f} s")
    # As if the newest 10,000 timeline entries had arrived since the last run (plus the 10,000 of overlap).
    AnalyticsSettings.objects.filter(tenant=tenant).update(stays_seen_activity=F("stays_seen_activity") - 10_000)
    with as_worker():
        began = time.monotonic()
        refresh_stays(tenant=tenant)
        print(f"stay summary: incremental catch-up in {time.monotonic() - began:.1f} s")


def run_in_report_transaction(fn, filters):
    from analytics import reports

    with reports.report_transaction():  # as the pages run them
        return fn(filters=filters)


def timed(fn, repeat: int) -> tuple[float, float]:
    began = time.perf_counter()
    fn()
    cold = time.perf_counter() - began
    best = cold
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return cold, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--tenant", default="bulk")
    parser.add_argument("--skip-seed", action="store_true", help="Use the tenant's existing history.")
    parser.add_argument("--skip-rebuild", action="store_true", help="Use the summaries an earlier run built.")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url = bench_database_url("oms_analytics_bench")
    ensure_database(url)
    setup_django(url, redis_url=bench_redis_url(6))

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from analytics import reports
    from analytics.forms import ReportFilterForm
    from analytics.reports import ReportFilters
    from oms.models import Tenant

    if not args.skip_seed:
        call_command("seed_bulk", orders=args.orders, customers=args.customers, tenant=args.tenant, skip_checks=True)
    tenant = Tenant.objects.get(slug=args.tenant)
    add_timelines(tenant)

    if not args.skip_rebuild:
        time_summary_rebuilds(tenant)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM orders_order WHERE tenant_id = %s", [tenant.pk]
        )
        orders, customers = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM orders_orderactivity WHERE tenant_id = %s", [tenant.pk])
        (activities,) = cursor.fetchone()
    print(f"tenant '{tenant.slug}': {orders} orders, {customers} customers, {activities} timeline rows")

    def page_default(days: int, **extra) -> ReportFilters:
        form = ReportFilterForm(extra or None, channels=[], default_days=days)
        return form.filters()

    statuses = reports.status_names(tenant)
    everything = ReportFilters(date_from=None, date_to=None)
    today = timezone.localdate()
    mid_months = ReportFilters(date_from=today - timedelta(days=75), date_to=today - timedelta(days=33))
    cohorts = partial(reports.cohort_report, tenant=tenant)
    by_channel = partial(reports.channel_report, tenant=tenant)
    durations = partial(reports.duration_report, tenant=tenant, statuses=statuses)
    funnel = partial(reports.funnel_report, tenant=tenant, statuses=statuses)
    sla = partial(reports.sla_report, tenant=tenant, statuses=statuses)
    cases = [
        ("cohorts / LTV by month (page default: 12 months)", cohorts, page_default(365)),
        ("cohorts / LTV by month, all 24 months", cohorts, everything),
        ("cohorts by week (page default: 26 weeks)", cohorts, page_default(365, period="week")),
        ("revenue by channel (page default: 12 months)", by_channel, page_default(365)),
        ("revenue by channel, all 24 months", by_channel, everything),
        ("time in status/group (page default: 90 days)", durations, page_default(90)),
        ("time in status/group, 12 months", durations, page_default(365)),
        ("time in status/group, all 24 months", durations, everything),
        ("time in status/group, 6 weeks across two month edges", durations, mid_months),
        ("funnel (page default: 90 days)", funnel, page_default(90)),
        ("funnel, 12 months", funnel, page_default(365)),
        ("funnel, all 24 months", funnel, everything),
        ("SLA breaches (page default: 90 days)", sla, page_default(90)),
        ("SLA breaches, all 24 months", sla, everything),
        ("channel choices (skip scan)", lambda filters: reports.channels(tenant), everything),
    ]
    from oms import rls

    as_app_role()  # the reports run as the pages run them: the application role, bound to the shop
    print(f"\n{'report':<52} {'cold s':>8} {'best s':>8}  (target < {TARGET_SECONDS:.0f} s; {timezone.now():%Y-%m-%d})")
    worst = 0.0
    with rls.tenant_context(tenant.pk):
        for label, fn, filters in cases:
            cold, best = timed(lambda fn=fn, filters=filters: run_in_report_transaction(fn, filters), args.repeat)
            worst = max(worst, best)
            flag = "" if best < TARGET_SECONDS else "  SLOW"
            print(f"{label:<52} {cold:8.3f} {best:8.3f}{flag}", flush=True)
    print(f"\nslowest report: {worst:.3f} s; load average {load_average()}")


if __name__ == "__main__":
    main()

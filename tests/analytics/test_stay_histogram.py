"""Time in status from the monthly histogram plus the partial months at the range's edges.

Whatever the range, the report must equal percentile_cont over the stays themselves (at the bucket precision),
and the histogram must always equal a count of the stays, however it was kept up to date.
"""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from analytics import reports, services
from analytics.reports import ReportFilters, duration_ranges

pytestmark = pytest.mark.django_db


def local(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def test_a_range_of_whole_months_reads_only_the_histogram():
    ranges = duration_ranges(local(date(2025, 1, 1)), local(date(2025, 3, 1)))
    assert ranges["use_months"] and (ranges["month_from"], ranges["month_to"]) == (date(2025, 1, 1), date(2025, 3, 1))
    assert ranges["left_from"] is None and ranges["right_from"] is None


def test_partial_months_at_either_edge_read_the_stays():
    ranges = duration_ranges(local(date(2025, 1, 15)), local(date(2025, 4, 10)))
    assert (ranges["month_from"], ranges["month_to"]) == (date(2025, 2, 1), date(2025, 4, 1))
    assert (ranges["left_from"], ranges["left_to"]) == (local(date(2025, 1, 15)), local(date(2025, 2, 1)))
    assert (ranges["right_from"], ranges["right_to"]) == (local(date(2025, 4, 1)), local(date(2025, 4, 10)))


def test_a_range_inside_one_month_reads_only_the_stays():
    ranges = duration_ranges(local(date(2025, 1, 5)), local(date(2025, 1, 20)))
    assert not ranges["use_months"]
    assert (ranges["left_from"], ranges["left_to"]) == (local(date(2025, 1, 5)), local(date(2025, 1, 20)))


def test_an_open_range_takes_every_month_from_its_start():
    ranges = duration_ranges(local(date(2025, 1, 5)), None)
    assert ranges["use_months"] and (ranges["month_from"], ranges["month_to"]) == (date(2025, 2, 1), None)
    assert (ranges["left_from"], ranges["left_to"]) == (local(date(2025, 1, 5)), local(date(2025, 2, 1)))
    assert duration_ranges(None, None)["use_months"]


EXACT_SQL = """
SELECT kind, name, COUNT(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY analytics_bucket_seconds(analytics_duration_bucket(seconds))),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY analytics_bucket_seconds(analytics_duration_bucket(seconds)))
FROM analytics_stay
WHERE tenant_id = %s AND entered_at >= %s AND entered_at < %s AND (%s = '' OR channel = %s)
GROUP BY kind, name
"""


def exact(tenant, start, end, channel=""):
    with connection.cursor() as cursor:
        cursor.execute(EXACT_SQL, [tenant.pk, start, end, channel, channel])
        return {(kind, name): (n, round(p50, 6), round(p90, 6)) for kind, name, n, p50, p90 in cursor.fetchall()}


def reported(tenant, filters):
    report = reports.duration_report(tenant=tenant, filters=filters)
    rows = [("status", r) for r in report.statuses] + [("group", r) for r in report.groups]
    return {(kind, r["code"]): (r["stays"], round(r["median"], 6), round(r["p90"], 6)) for kind, r in rows}


@pytest.fixture
def more_stays(history):
    """Durations off the buckets' grid (17 min, 2 h 13 min, 3 d 5 h ...) in January to March, two channels."""
    from tests.analytics.conftest import at, change

    change(history.orders["A2"], [(at(3, 5, 9, 17), "new", "confirmed"), (at(3, 5, 11, 30), "confirmed", "assembling")])
    change(history.orders["C1"], [(at(2, 14, 11, 13), "new", "confirmed"), (at(2, 17, 16, 13), "confirmed", "packed")])
    change(history.orders["B1"], [(at(1, 20, 9, 42), "new", "confirmed"), (at(1, 31, 23, 5), "confirmed", "packed")])
    services.refresh_stays(tenant=history.tenant)
    return history


@pytest.mark.parametrize(
    ("first", "last", "channel"),
    [
        (date(2025, 1, 1), date(2025, 12, 31), ""),  # whole months
        (date(2025, 1, 11), date(2025, 3, 4), ""),  # both edges partial
        (date(2025, 1, 5), date(2025, 1, 25), ""),  # inside one month
        (date(2025, 2, 1), date(2025, 3, 10), ""),
        (date(2025, 1, 20), date(2025, 3, 31), "marketplace"),
    ],
)
def test_report_equals_percentiles_over_the_stays_for_any_range(more_stays, first, last, channel):
    history = more_stays
    filters = ReportFilters(date_from=first, date_to=last, channel=channel)
    expected = exact(history.tenant, local(first), local(last + timedelta(days=1)), channel)
    assert expected, "the range should hold stays"
    assert reported(history.tenant, filters) == expected


def histogram_rows(tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT month, kind, name, channel, bucket, stays FROM analytics_stayhistogram WHERE tenant_id = %s "
            "ORDER BY 1, 2, 3, 4, 5",
            [tenant.pk],
        )
        return cursor.fetchall()


def test_catching_up_keeps_the_histogram_equal_to_a_full_count(more_stays):
    from tests.analytics.conftest import at, change

    history = more_stays
    change(history.orders["B2"], [(at(2, 4), "cancelled", "new")])
    change(history.orders["C2"], [(at(3, 6), "in-transit", "delivered")])
    assert services.refresh_stays(tenant=history.tenant)  # incremental
    caught_up = histogram_rows(history.tenant)
    services.refresh_stays(tenant=history.tenant, force=True)
    assert caught_up == histogram_rows(history.tenant)
    assert all(row[-1] > 0 for row in caught_up)  # emptied buckets are removed


def family_outcomes(tenant):
    from analytics.models import FamilyOutcome

    return list(
        FamilyOutcome.objects.filter(tenant=tenant)
        .order_by("root_id")
        .values_list("root_id", "created_at", "channel", "reach", "cancelled", "cancel_status_id")
    )


def test_funnel_summary_catches_up_with_a_cancelled_order_and_equals_a_full_rebuild(history):
    from orders.models import Order, OrderStatus
    from tests.analytics.conftest import at, change

    c2 = history.orders["C2"]  # in transit: its family reached delivery
    before = reports.funnel_report(tenant=history.tenant, filters=ReportFilters(date_from=date(2025, 1, 1)))
    cancelled = OrderStatus.objects.get(tenant=history.tenant, code="cancelled")
    change(c2, [(at(3, 9), "in-transit", "cancelled")])
    Order.objects.filter(pk=c2.pk).update(status=cancelled, group="cancel", updated_at=timezone.now())

    assert services.refresh_purchases(tenant=history.tenant) is not None  # incremental: C2's family only
    caught_up = family_outcomes(history.tenant)
    after = reports.funnel_report(tenant=history.tenant, filters=ReportFilters(date_from=date(2025, 1, 1)))
    delivery = [s for s in after.stages if s["stage"] == "delivery"][0]
    assert delivery["cancelled"] == [s for s in before.stages if s["stage"] == "delivery"][0]["cancelled"] + 1
    services.refresh_purchases(tenant=history.tenant, force=True)
    assert caught_up == family_outcomes(history.tenant)

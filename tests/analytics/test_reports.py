"""Each report against the hand-computed history of conftest.py (figures worked out there by hand)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from analytics import reports, services
from analytics.reports import ReportFilters
from notifications.models import OrderDeadline
from oms import rls

pytestmark = pytest.mark.django_db

YEAR_2025 = ReportFilters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))


def cohort_rows(report):
    return {row.cohort: row for row in report.rows}


def test_cohorts_count_a_family_once_and_skip_cancelled_orders(history):
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    rows = cohort_rows(report)
    assert list(rows) == [date(2025, 1, 1), date(2025, 2, 1)]
    jan, feb = rows[date(2025, 1, 1)], rows[date(2025, 2, 1)]
    assert jan.size == 3  # Ann, Bob, Dan: Dan's cancelled root still dates the family his child completed
    assert (jan.cells[0]["customers"], jan.cells[0]["purchases"], jan.cells[0]["revenue"]) == (3, 3, Decimal("380"))
    assert jan.cells[1]["customers"] == 0
    assert (jan.cells[2]["customers"], jan.cells[2]["revenue"]) == (1, Decimal("100"))  # Ann, A2 + its copy
    assert jan.cells[2]["share"] == Decimal("33.3")
    assert feb.size == 1 and feb.cells[0]["revenue"] == Decimal("60")
    assert all(cell["customers"] == 0 for cell in feb.cells[1:])  # Cat's in-transit C2 is not revenue


def test_cohort_matrix_runs_to_the_current_period(history):
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    jan = cohort_rows(report)[date(2025, 1, 1)]
    assert len(jan.cells) == len(report.ages)  # the oldest cohort spans every column up to this month
    assert len(cohort_rows(report)[date(2025, 2, 1)].cells) == len(report.ages) - 1


def test_cohorts_by_week(history):
    report = reports.cohort_report(
        tenant=history.tenant, filters=ReportFilters(date_from=date(2025, 1, 1), period="week")
    )
    sizes = {row.cohort: row.size for row in report.rows}
    # Weeks start on Monday: Jan 5 (Dan) is in the week of Dec 30, Jan 10 (Ann) Jan 6, Jan 20 (Bob) Jan 20.
    assert sizes == {date(2024, 12, 30): 1, date(2025, 1, 6): 1, date(2025, 1, 20): 1, date(2025, 2, 10): 1}
    ann = next(r for r in report.rows if r.cohort == date(2025, 1, 6))
    assert ann.cells[8]["customers"] == 1  # Mar 5 is eight weeks after the week of Jan 6


def test_lifetime_value_and_summary_metrics(history):
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    jan = cohort_rows(report)[date(2025, 1, 1)]
    assert [c["ltv"] for c in jan.cells[:4]] == [
        Decimal("126.67"),
        Decimal("126.67"),
        Decimal("160.00"),
        Decimal("160.00"),
    ]
    assert (report.customers, report.purchases, report.revenue) == (4, 5, Decimal("540"))
    assert report.average_order_value == Decimal("108.00")
    assert report.purchase_frequency == Decimal("1.25")
    assert report.repeat_rate == Decimal("25.0")  # only Ann bought twice; Bob's second order was cancelled


def test_revenue_groups_setting_changes_what_counts(history, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.update_settings(tenant=history.tenant, revenue_groups=["delivery", "complete"])
    assert len(callbacks) == 1  # the summary rebuild is queued after commit
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    feb = cohort_rows(report)[date(2025, 2, 1)]
    assert (feb.cells[1]["customers"], feb.cells[1]["revenue"]) == (1, Decimal("40"))  # Cat's C2 now counts
    assert report.repeat_rate == Decimal("50.0")


def test_cancel_can_never_be_a_revenue_group(tenant):
    from oms.errors import DomainError

    with pytest.raises(DomainError):
        services.update_settings(tenant=tenant, revenue_groups=["cancel"])
    assert reports.revenue_groups(tenant) == ["complete"]


def test_channel_filter_takes_the_family_channel(history):
    report = reports.cohort_report(
        tenant=history.tenant, filters=ReportFilters(date_from=date(2025, 1, 1), channel="web")
    )
    jan = cohort_rows(report)[date(2025, 1, 1)]
    assert jan.size == 2  # Ann (A1) and Bob; Dan bought by phone
    assert all(cell["customers"] == 0 for cell in jan.cells[1:])  # Ann's March purchase was on the marketplace


def test_date_range_selects_cohorts_by_first_purchase(history):
    report = reports.cohort_report(
        tenant=history.tenant, filters=ReportFilters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 31))
    )
    assert [(r.cohort, r.size) for r in report.rows] == [(date(2025, 2, 1), 1)]  # Ann first bought in January


def test_revenue_by_channel(history):
    report = reports.channel_report(tenant=history.tenant, filters=YEAR_2025)
    assert [(r["channel"], r["purchases"], r["revenue"]) for r in report.channels] == [
        ("web", 3, Decimal("410")),
        ("marketplace", 1, Decimal("100")),
        ("phone", 1, Decimal("30")),
    ]
    assert (report.purchases, report.revenue, report.customers) == (5, Decimal("540"), 4)
    assert [(m["month"], m["revenue"]) for m in report.months] == [
        (date(2025, 1, 1), Decimal("380")),
        (date(2025, 2, 1), Decimal("60")),
        (date(2025, 3, 1), Decimal("100")),
    ]
    march = reports.channel_report(
        tenant=history.tenant, filters=ReportFilters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    )
    assert [(r["channel"], r["revenue"]) for r in march.channels] == [("marketplace", Decimal("100"))]


def test_time_in_status_and_group(history):
    report = reports.duration_report(tenant=history.tenant, filters=YEAR_2025)
    hours = {r["code"]: (r["stays"], r["median"] / 3600, round(r["p90"] / 3600, 2)) for r in report.statuses}
    assert hours == {
        "new": (2, 2.0, 2.8),  # A1 1 h, B2 3 h
        "confirmed": (2, 2.0, 2.0),
        "assembling": (1, 1.0, 1.0),
        "packed": (1, 6.0, 6.0),
        "handed-over": (1, 24.0, 24.0),
    }
    groups = {r["code"]: (r["stays"], r["median"] / 3600) for r in report.groups}
    assert groups == {"new": (2, 2.0), "approval": (2, 2.0), "assembly": (1, 7.0), "delivery": (1, 24.0)}
    assert [r["code"] for r in report.groups] == ["new", "approval", "assembly", "delivery"]


def test_funnel_counts_families_and_drop_off_by_cancel_status(history):
    report = reports.funnel_report(tenant=history.tenant, filters=YEAR_2025)
    assert report.started == 7  # A1, A2, B1, B2, C1, C2, D1 families
    assert [(s["stage"], s["reached"]) for s in report.stages] == [
        ("new", 7),
        ("approval", 7),
        ("assembly", 6),
        ("delivery", 6),
        ("complete", 5),  # D1's child completed, so the family did
    ]
    approval = report.stages[1]
    assert approval["cancelled"] == 1
    assert dict(zip(report.cancel_statuses, approval["by_status"], strict=True))["Cancelled"] == 1
    assert sum(s["cancelled"] for s in report.stages) == 1


def test_sla_breaches_per_manager_and_status(history):
    report = reports.sla_report(tenant=history.tenant, filters=YEAR_2025)
    managers = {r["manager"]: (r["breaches"], r["orders"], r["overdue_now"]) for r in report.managers}
    assert managers == {history.managers["m1"].username: (1, 1, 0), history.managers["m2"].username: (2, 1, 1)}
    statuses = {r["code"]: r["breaches"] for r in report.statuses}
    assert statuses == {"confirmed": 1, "packed": 1, "in-transit": 1}
    assert report.breaches == 3


def test_an_overdue_mark_of_an_earlier_status_is_not_overdue_now(history):
    moved_on = history.orders["C1"]  # marked overdue in a status it has left since
    OrderDeadline.objects.create(
        tenant=history.tenant,
        order=moved_on,
        started_at=moved_on.status_changed_at - timedelta(hours=5),
        due_at=moved_on.status_changed_at - timedelta(hours=4),
        overdue_at=moved_on.status_changed_at - timedelta(hours=4),
    )
    report = reports.sla_report(tenant=history.tenant, filters=YEAR_2025)
    assert [(r["manager"], r["overdue_now"]) for r in report.managers if r["overdue_now"]] == [
        (history.managers["m2"].username, 1)
    ]


def test_every_report_ignores_other_tenants(history, foreign_history):
    tenant = history.tenant
    cohorts = reports.cohort_report(tenant=tenant, filters=YEAR_2025)
    assert (cohorts.customers, cohorts.revenue) == (4, Decimal("540"))
    channels = reports.channel_report(tenant=tenant, filters=YEAR_2025)
    assert "shop-b-only" not in [r["channel"] for r in channels.channels]
    assert channels.revenue == Decimal("540")
    assert "shop-b-only" not in reports.channels(tenant)
    durations = reports.duration_report(tenant=tenant, filters=YEAR_2025)
    assert {r["code"]: r["stays"] for r in durations.statuses}["new"] == 2
    assert reports.funnel_report(tenant=tenant, filters=YEAR_2025).started == 7
    sla = reports.sla_report(tenant=tenant, filters=YEAR_2025)
    assert sla.breaches == 3 and "zoe-b" not in [r["manager"] for r in sla.managers]


def test_the_other_tenant_sees_only_its_own(history, foreign_history, other_tenant):
    rls.bind(other_tenant.pk)  # as the other shop's owner's request is
    cohorts = reports.cohort_report(tenant=other_tenant, filters=YEAR_2025)
    assert (cohorts.customers, cohorts.purchases, cohorts.revenue) == (1, 2, Decimal("12000"))
    assert reports.funnel_report(tenant=other_tenant, filters=YEAR_2025).started == 3
    assert [r["manager"] for r in reports.sla_report(tenant=other_tenant, filters=YEAR_2025).managers] == ["zoe-b"]
    assert {r["code"] for r in reports.duration_report(tenant=other_tenant, filters=YEAR_2025).statuses} == {
        "new",
        "confirmed",
    }
    assert sorted(reports.channels(other_tenant)) == ["shop-b-only", "web"]


def test_reports_on_an_empty_shop(tenant):
    assert reports.cohort_report(tenant=tenant, filters=YEAR_2025).rows == []
    assert reports.channel_report(tenant=tenant, filters=YEAR_2025).revenue == Decimal(0)
    assert reports.duration_report(tenant=tenant, filters=YEAR_2025).statuses == []
    assert reports.funnel_report(tenant=tenant, filters=YEAR_2025).started == 0
    assert reports.sla_report(tenant=tenant, filters=YEAR_2025).breaches == 0


def test_reports_read_the_timeline_the_order_services_write(tenant):
    """Guards the activity format the reports rely on against drift in orders.services."""
    import time_machine

    from tests.orders.helpers import move, place_order, stocked_product

    product = stocked_product(tenant, on_hand=5, price="25.00")
    with time_machine.travel(date(2025, 4, 1), tick=False) as traveller:
        order = place_order(tenant, [(product, 2)], customer_name="Eve")
        traveller.shift(3600 * 5)
        move(order, "confirmed")
        traveller.shift(3600 * 2)
        move(order, "cancelled")
    services.refresh_summaries(tenant=tenant)
    durations = reports.duration_report(tenant=tenant, filters=YEAR_2025)
    assert {r["code"]: r["median"] for r in durations.statuses} == {"new": 5 * 3600, "confirmed": 2 * 3600}
    funnel = reports.funnel_report(tenant=tenant, filters=YEAR_2025)
    assert [s["cancelled"] for s in funnel.stages] == [0, 1, 0, 0, 0]
    assert reports.cohort_report(tenant=tenant, filters=YEAR_2025).rows == []  # a cancelled order is no purchase


def test_summary_rebuild_is_skipped_until_an_order_changes(history):
    from django.utils import timezone

    from analytics.tasks import refresh_purchase_summaries
    from orders.models import Order

    assert services.refresh_purchases(tenant=history.tenant) is None  # nothing changed since the fixture's rebuild
    c2 = history.orders["C2"]
    delivered = c2.tenant and type(c2.status).objects.get(tenant=history.tenant, code="delivered")
    Order.objects.filter(pk=c2.pk).update(status=delivered, group="complete", updated_at=timezone.now())
    assert refresh_purchase_summaries() >= 1  # the beat task rebuilds the changed tenant
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    assert cohort_rows(report)[date(2025, 2, 1)].cells[1]["revenue"] == Decimal("40")


def test_incremental_rebuild_renumbers_the_customers_purchases(history):
    from django.utils import timezone

    from analytics.models import Purchase
    from tests.analytics.conftest import at, make_order

    early = make_order(history.tenant, history.customers["Bob"], "delivered", "70", at(1, 2))
    Order = type(early)
    Order.objects.filter(pk=early.pk).update(updated_at=timezone.now())
    assert services.refresh_purchases(tenant=history.tenant) == 6  # incremental: only Bob's new family
    bob = Purchase.objects.filter(tenant=history.tenant, customer_id=history.customers["Bob"].pk).order_by("seq")
    assert [(p.root_id, p.seq, p.first_at) for p in bob] == [
        (early.pk, 1, at(1, 2)),
        (history.orders["B1"].pk, 2, at(1, 2)),
    ]
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    assert report.repeat_rate == Decimal("50.0")  # Ann and now Bob


def test_stay_summary_catches_up_with_new_status_changes(history):
    from tests.analytics.conftest import at, change

    assert services.refresh_stays(tenant=history.tenant) is None  # nothing new since the fixture
    change(history.orders["B2"], [(at(2, 4), "cancelled", "new")])  # B2 taken back a day after its cancel
    # The orders with recent timeline entries are re-read (here all): their stays replaced, never doubled.
    assert services.refresh_stays(tenant=history.tenant) == 15
    from analytics.models import Stay

    assert (
        Stay.objects.filter(tenant=history.tenant).count() == 15
    )  # 13 before, plus B2's stay in cancelled and in cancel
    statuses = {
        r["code"]: r["stays"] for r in reports.duration_report(tenant=history.tenant, filters=YEAR_2025).statuses
    }
    assert statuses["cancelled"] == 1


def test_a_customer_merged_later_is_one_customer_after_the_next_refresh(history):
    """The scheduled (incremental) refresh must see orders moved by a merge: one customer, not two cohorts."""
    from analytics.models import Purchase
    from orders.services.customers import merge_customers

    ann, bob = history.customers["Ann"], history.customers["Bob"]
    merge_customers(keep=ann, duplicate=bob)
    assert services.refresh_purchases(tenant=history.tenant) == 5
    assert not Purchase.objects.filter(tenant=history.tenant, customer_id=bob.pk).exists()
    ann_purchases = Purchase.objects.filter(tenant=history.tenant, customer_id=ann.pk).order_by("seq")
    assert [p.root_id for p in ann_purchases] == [
        history.orders["A1"].pk,
        history.orders["B1"].pk,
        history.orders["A2"].pk,
    ]
    jan = cohort_rows(reports.cohort_report(tenant=history.tenant, filters=YEAR_2025))[date(2025, 1, 1)]
    assert jan.size == 2  # Ann (with Bob's purchase) and Dan
    assert (jan.cells[0]["customers"], jan.cells[0]["purchases"]) == (2, 3)


def test_a_change_that_commits_after_a_refresh_with_an_earlier_time_is_not_skipped(history):
    """A transaction stamps `updated_at` when it saves, not when it commits: a change saved a moment before the
    newest one a refresh saw, committed just after that refresh read, must still reach the summary."""
    from datetime import timedelta

    from django.utils import timezone

    from analytics.models import AnalyticsSettings
    from orders.models import Order, OrderStatus

    delivered = OrderStatus.objects.get(tenant=history.tenant, code="delivered")
    Order.objects.filter(pk=history.orders["C2"].pk).update(
        status=delivered, group="complete", updated_at=timezone.now()
    )
    assert services.refresh_purchases(tenant=history.tenant) == 6  # C2 is a purchase now
    seen = AnalyticsSettings.objects.get(tenant=history.tenant).purchases_seen_change
    # Bob's cancelled B2 was taken back and delivered by a slower transaction that saved a second earlier.
    Order.objects.filter(pk=history.orders["B2"].pk).update(
        status=delivered, group="complete", updated_at=seen - timedelta(seconds=1)
    )
    assert services.refresh_purchases(tenant=history.tenant) == 7
    report = reports.cohort_report(tenant=history.tenant, filters=YEAR_2025)
    assert cohort_rows(report)[date(2025, 1, 1)].cells[1]["revenue"] == Decimal("999")


def test_one_shop_that_fails_its_refresh_does_not_stop_the_shops_after_it(history, other_tenant, monkeypatch, caplog):
    """Beat's refresh goes shop by shop: a shop whose rebuild raises (data the refresh did not foresee) is logged and
    skipped; the shops after it are still brought up to date."""
    from django.utils import timezone

    from analytics.tasks import refresh_purchase_summaries
    from orders.models import Order

    first, second = sorted([history.tenant, other_tenant], key=lambda shop: shop.pk)
    real = services.refresh_summaries
    refreshed = []

    def refresh(*, tenant, force=False):
        if tenant.pk == first.pk:
            raise RuntimeError("a row the refresh did not foresee")
        refreshed.append(tenant.pk)
        return real(tenant=tenant, force=force)

    monkeypatch.setattr(services, "refresh_summaries", refresh)
    Order.objects.filter(tenant=history.tenant).update(updated_at=timezone.now())
    refresh_purchase_summaries()
    assert refreshed == [second.pk]
    assert "Refreshing the purchase summaries failed for tenant" in caplog.text

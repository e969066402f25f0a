"""What splitting earns, against the hand-computed history of tests/analytics/conftest.py plus one waiting split-off.

Split-offs in 2025: A1-2 (delivered, 50, handed over 48 h after it was split), D1-2 (delivered, 30, 24 h) and
C1-2 (added here: waiting for stock, 25). A2-2 is a copy and does not count.
→ 3 split-offs, 2 completed (67 %), recovered 80.00, 25.00 still waiting; time to ship median 36 h, 90 % 45.6 h.
Customers (value = all their purchases): Ann 250 (Jan, bought again, split A1), Dan 30 (Jan, split D1),
Bob 200 (Jan, no split), Cat 60 (Feb, split C1, but nobody without a split started in Feb).
→ Jan compares split customers Ann and Dan (140.00 each on average, half bought again) with Bob (200.00, none did);
Cat is left out; weighted by Jan's two split customers: 140.00 against 200.00, 50 % against 0 %.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics.reports import ReportFilters
from analytics.services import refresh_summaries
from analytics.splits import split_report
from oms.models import Role
from orders.models import Order
from tests.rls_support import within_tenant

from .conftest import at, make_order
from .test_views import YEAR, read_csv

pytestmark = pytest.mark.django_db

YEAR_2025 = ReportFilters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))


@within_tenant
def add_split_facts(tenant, history):
    o = history.orders
    Order.objects.filter(pk=o["A1-2"].pk).update(handed_over_at=at(1, 12) + timedelta(hours=48))
    Order.objects.filter(pk=o["D1-2"].pk).update(handed_over_at=at(1, 7) + timedelta(hours=24))
    make_order(tenant, history.customers["Cat"], "new", "25", at(2, 15), parent=o["C1"])
    refresh_summaries(tenant=tenant, force=True)


@pytest.fixture
def split_history(tenant, history):
    add_split_facts(tenant, history)
    return history


def test_split_offs_their_outcome_and_time_to_ship(split_history):
    report = split_report(tenant=split_history.tenant, filters=YEAR_2025)
    assert (report.children, report.completed, report.cancelled, report.still_open) == (3, 2, 0, 1)
    assert report.recovered == Decimal("80.00") and report.waiting_value == Decimal("25.00")
    assert report.completion_rate == pytest.approx(2 / 3)
    assert report.shipped == 2
    assert report.median_seconds_to_ship == pytest.approx(36 * 3600)
    assert report.p90_seconds_to_ship == pytest.approx(45.6 * 3600)


def test_customers_with_a_split_order_against_the_same_month_without_one(split_history):
    report = split_report(tenant=split_history.tenant, filters=YEAR_2025)
    by_month = {c.cohort: c for c in report.cohorts}
    january, february = by_month[date(2025, 1, 1)], by_month[date(2025, 2, 1)]
    assert (january.split_customers, january.split_value, january.split_repeat) == (2, Decimal("140.00"), 0.5)
    assert (january.other_customers, january.other_value, january.other_repeat) == (1, Decimal("200.00"), 0.0)
    assert (february.split_customers, february.other_customers, february.other_value) == (1, 0, None)
    assert [c.cohort for c in report.compared] == [date(2025, 1, 1)]
    assert report.uncompared_customers == 1
    assert (report.split_value, report.comparable_value) == (Decimal("140.00"), Decimal("200.00"))
    assert (report.split_repeat, report.comparable_repeat) == (0.5, 0.0)


def test_the_range_and_the_channel_narrow_it(split_history):
    february = split_report(
        tenant=split_history.tenant, filters=ReportFilters(date_from=date(2025, 2, 1), date_to=date(2025, 2, 28))
    )
    assert (february.children, february.completed, february.recovered) == (1, 0, Decimal("0"))
    assert [c.cohort for c in february.cohorts] == [date(2025, 2, 1)] and not february.compared
    phone = split_report(
        tenant=split_history.tenant, filters=ReportFilters(date_from=date(2025, 1, 1), channel="phone")
    )
    assert (phone.children, phone.recovered) == (1, Decimal("30.00"))


def test_a_shop_without_splits_gets_an_empty_report(tenant):
    report = split_report(tenant=tenant, filters=YEAR_2025)
    assert (report.children, report.recovered, report.cohorts, report.completion_rate) == (0, Decimal("0"), [], None)
    assert report.split_value is None and report.comparable_value is None


def test_the_page_shows_the_figures_and_how_they_were_counted(client_for, split_history, foreign_history):
    body = client_for(Role.OWNER).get(reverse("analytics:splits"), YEAR).content.decode()
    assert 'data-testid="split-children">3<' in body
    assert 'data-testid="split-recovered">80.00<' in body
    assert 'data-testid="split-completion">67%<' in body
    assert 'data-testid="split-value">140.00<' in body and 'data-testid="comparable-value">200.00<' in body
    assert "How this is counted" in body and "same month" in body
    assert "5000" not in body and "7000" not in body  # the other shop's purchases


def test_the_cohort_table_as_csv(client_for, split_history):
    response = client_for(Role.OWNER).get(reverse("analytics:splits"), {**YEAR, "format": "csv", "table": "cohorts"})
    rows = read_csv(response)
    assert rows[0][:3] == ["first_purchase_month", "split_customers", "split_customer_value"]
    assert rows[1] == ["2025-01", "2", "140.00", "50.0", "1", "200.00", "0.0"]
    assert rows[2] == ["2025-02", "1", "60.00", "0.0", "0", "", ""]


def test_an_empty_shop_sees_empty_states(client_for):
    body = client_for(Role.OWNER).get(reverse("analytics:splits")).content.decode()
    assert "No order was split in this range." in body


@within_tenant
def refund_return(tenant, order, amount):
    """A received customer return of `order` refunded `amount` (as shipments.services.returns records one)."""
    from orders.models import Payment, PaymentKind
    from shipments.models import CustomerReturn, ReturnState

    refund = Payment.objects.create(tenant=tenant, order=order, kind=PaymentKind.REFUND, method="cash", amount=amount)
    CustomerReturn.objects.create(
        tenant=tenant, order=order, reason="too big", state=ReturnState.RECEIVED, refund_on_receipt=True, refund=refund
    )


def test_goods_of_a_split_off_sent_back_for_their_money_are_not_recovered(split_history):
    refund_return(split_history.tenant, split_history.orders["A1-2"], Decimal("20.00"))
    report = split_report(tenant=split_history.tenant, filters=YEAR_2025)
    assert report.completed == 2
    assert report.recovered == Decimal("60.00")  # 50 − 20 sent back + 30

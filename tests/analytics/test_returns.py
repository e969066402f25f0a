"""Goods the customer sent back and was refunded for are not revenue; an exchange counts as what it was sold for."""

from decimal import Decimal

import pytest

from analytics.models import Purchase
from analytics.reports import ReportFilters, cohort_report
from analytics.services import refresh_summaries
from shipments.services import returns
from tests.orders.helpers import SYSTEM
from tests.shipments.test_customer_returns import delivered, lines_of

pytestmark = pytest.mark.django_db


def revenue(tenant) -> Decimal:
    return sum((p.revenue for p in Purchase.objects.filter(tenant=tenant)), Decimal("0.00"))


def test_a_refunded_return_leaves_the_revenue_and_the_next_refresh_sees_it(tenant):
    order = delivered(tenant)  # 3 × 10.00 + 1 × 10.00, paid in cash on delivery
    refresh_summaries(tenant=tenant, force=True)
    assert revenue(tenant) == order.total
    first, _ = lines_of(order)
    back = returns.announce_return(
        order=order, quantities={first.pk: 2}, reason="too big", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=back, actor=SYSTEM)
    refresh_summaries(tenant=tenant)  # the incremental refresh: the order changed when it was refunded
    assert revenue(tenant) == order.total - Decimal("20.00")
    report = cohort_report(tenant=tenant, filters=ReportFilters())
    assert (report.purchases, report.revenue) == (1, order.total - Decimal("20.00"))


def test_an_exchange_is_not_counted_twice(tenant):
    order = delivered(tenant)
    first, _ = lines_of(order)
    returns.announce_return(order=order, quantities={first.pk: 1}, reason="faulty", actor=SYSTEM, exchange=True)
    refresh_summaries(tenant=tenant, force=True)
    assert revenue(tenant) == order.total  # the free exchange adds nothing (it was not delivered yet either)


def test_a_purchase_whose_goods_all_came_back_refunded_is_no_purchase(tenant):
    order = delivered(tenant)
    refresh_summaries(tenant=tenant, force=True)
    assert cohort_report(tenant=tenant, filters=ReportFilters()).purchases == 1
    first, second = lines_of(order)
    part = returns.announce_return(
        order=order, quantities={first.pk: 3}, reason="too big", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=part, actor=SYSTEM)
    refresh_summaries(tenant=tenant)
    assert cohort_report(tenant=tenant, filters=ReportFilters()).purchases == 1  # one line is still theirs
    rest = returns.announce_return(
        order=order, quantities={second.pk: 1}, reason="changed mind", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=rest, actor=SYSTEM)
    refresh_summaries(tenant=tenant)
    report = cohort_report(tenant=tenant, filters=ReportFilters())
    assert (report.purchases, report.revenue) == (0, Decimal("0.00"))
    refresh_summaries(tenant=tenant, force=True)  # a full rebuild agrees
    assert not Purchase.objects.filter(tenant=tenant).exists()

"""The report screens: owners only, tenant-scoped, CSV per table, a bounded number of queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import AnalyticsSettings
from analytics.services import refresh_summaries
from oms import rls
from oms.models import Role

pytestmark = pytest.mark.django_db

PAGES = ["analytics:home", "analytics:cohorts", "analytics:ltv", "analytics:flow", "analytics:sla", "analytics:splits"]
YEAR = {"date_from": "2025-01-01", "date_to": "2025-12-31"}


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("name", [*PAGES, "analytics:settings"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER])
def test_only_owners_see_analytics(client_for, name, role):
    assert client_for(role).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_owner_pages_render_with_a_bounded_number_of_queries(client_for, history, name, django_assert_max_num_queries):
    owner = client_for(Role.OWNER)
    with django_assert_max_num_queries(13):  # the row-level-security binding included, as in production
        response = owner.get(reverse(name), YEAR)
    assert response.status_code == 200
    assert b'id="report"' in response.content
    assert b"style=" not in response.content and b"<script>" not in response.content  # CSP-friendly


def test_htmx_filter_change_returns_only_the_report(client_for, history):
    response = client_for(Role.OWNER).get(
        reverse("analytics:cohorts"), {**YEAR, "metric": "revenue"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="report"') and "<html" not in body
    assert "Revenue retention" in body


def test_cohort_page_shows_the_matrix(client_for, history):
    body = client_for(Role.OWNER).get(reverse("analytics:cohorts"), YEAR).content.decode()
    assert 'data-testid="cohort-matrix"' in body
    assert "2025-01" in body and "33.3%" in body
    assert "heat-" in body


def test_cohort_csv(client_for, history):
    response = client_for(Role.OWNER).get(reverse("analytics:cohorts"), {**YEAR, "format": "csv", "table": "matrix"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="cohorts-matrix-')
    rows = read_csv(response)
    assert rows[0][:5] == ["cohort", "cohort_size", "month_0", "month_1", "month_2"]
    assert rows[1][:5] == ["2025-01", "3", "100.0", "0.0", "33.3"]
    assert rows[2][:4] == ["2025-02", "1", "100.0", "0.0"]


def test_revenue_cohort_and_ltv_csv(client_for, history):
    owner = client_for(Role.OWNER)
    revenue = read_csv(owner.get(reverse("analytics:cohorts"), {**YEAR, "metric": "revenue", "format": "csv"}))
    assert revenue[1][:5] == ["2025-01", "3", "380.00", "0.00", "100.00"]
    curves = read_csv(owner.get(reverse("analytics:ltv"), {**YEAR, "format": "csv", "table": "curves"}))
    assert curves[1][:5] == ["2025-01", "3", "126.67", "126.67", "160.00"]
    metrics = read_csv(owner.get(reverse("analytics:ltv"), {**YEAR, "format": "csv", "table": "metrics"}))
    assert metrics == [
        ["customers", "purchases", "revenue", "average_order_value", "purchase_frequency", "repeat_purchase_rate"],
        ["4", "5", "540.00", "108.00", "1.25", "25.0"],
    ]


def test_overview_flow_and_sla_csv(client_for, history):
    owner = client_for(Role.OWNER)
    channels = read_csv(owner.get(reverse("analytics:home"), {**YEAR, "format": "csv", "table": "channels"}))
    assert channels[1][:4] == ["web", "3", "3", "410.00"]
    funnel = read_csv(owner.get(reverse("analytics:flow"), {**YEAR, "format": "csv", "table": "funnel"}))
    assert [row[:2] for row in funnel[1:]] == [
        ["new", "7"],
        ["approval", "7"],
        ["assembly", "6"],
        ["delivery", "6"],
        ["complete", "5"],
    ]
    groups = read_csv(owner.get(reverse("analytics:flow"), {**YEAR, "format": "csv", "table": "groups"}))
    assert groups[1] == ["new", "2", "7200", "10080"]
    managers = read_csv(owner.get(reverse("analytics:sla"), {**YEAR, "format": "csv", "table": "managers"}))
    assert managers[1] == [history.managers["m2"].username, "2", "1", "1"]


def test_unknown_csv_table_is_404(client_for, history):
    assert client_for(Role.OWNER).get(reverse("analytics:sla"), {"format": "csv", "table": "nope"}).status_code == 404


def test_bad_filters_fall_back_to_defaults_with_a_message(client_for, history):
    response = client_for(Role.OWNER).get(
        reverse("analytics:cohorts"), {"date_from": "2025-05-01", "date_to": "2025-01-01", "period": "decade"}
    )
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()


def test_pages_show_only_the_owners_tenant(client_for, history, foreign_history):
    owner = client_for(Role.OWNER)
    home = owner.get(reverse("analytics:home"), YEAR).content.decode()
    assert "shop-b-only" not in home and "12000" not in home
    sla = owner.get(reverse("analytics:sla"), YEAR).content.decode()
    assert "zoe-b" not in sla


def test_owner_changes_revenue_groups(client_for, history, tenant, django_capture_on_commit_callbacks):
    owner = client_for(Role.OWNER)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("analytics:settings"), {"revenue_groups": ["delivery", "complete"]})
    assert response.status_code == 302
    assert AnalyticsSettings.objects.get(tenant=tenant).revenue_groups == ["delivery", "complete"]
    metrics = read_csv(owner.get(reverse("analytics:ltv"), {**YEAR, "format": "csv", "table": "metrics"}))
    assert metrics[1][:3] == ["4", "6", "580.00"]


def test_settings_refuse_an_empty_choice(client_for, tenant):
    response = client_for(Role.OWNER).post(reverse("analytics:settings"), {"revenue_groups": []})
    assert response.status_code == 200 and "Choose at least one group." in response.content.decode()
    assert AnalyticsSettings.objects.get(tenant=tenant).revenue_groups == ["complete"]


def test_managers_cannot_change_settings(client_for, tenant):
    response = client_for(Role.MANAGER).post(reverse("analytics:settings"), {"revenue_groups": ["new"]})
    assert response.status_code == 403
    assert AnalyticsSettings.objects.get(tenant=tenant).revenue_groups == ["complete"]


def test_owner_rebuilds_the_summary_now(client_for, history, tenant, django_capture_on_commit_callbacks):
    from orders.models import Order

    Order.objects.filter(pk=history.orders["C2"].pk).update(group="complete")
    with django_capture_on_commit_callbacks(execute=True):  # the rebuild runs as a task after the commit
        response = client_for(Role.OWNER).post(reverse("analytics:refresh"), headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-state="queued"' in response.content.decode()
    rls.bind(tenant.pk)
    page = client_for(Role.OWNER).get(reverse("analytics:settings")).content.decode()
    assert 'data-state="done"' in page and "Summaries rebuilt:" in page
    metrics = read_csv(
        client_for(Role.OWNER).get(reverse("analytics:ltv"), {**YEAR, "format": "csv", "table": "metrics"})
    )
    assert metrics[1][:3] == ["4", "6", "580.00"]
    assert client_for(Role.MANAGER).post(reverse("analytics:refresh")).status_code == 403


def test_bad_filters_sent_by_htmx_show_their_message_in_the_swapped_report(client_for, history):
    response = client_for(Role.OWNER).get(
        reverse("analytics:flow"),
        {"date_from": "2025-05-01", "date_to": "2025-01-01"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="report"')  # the partial, not the page
    assert "The start date is after the end date." in body


def test_build_reports_command_fills_the_summaries_at_once(tenant, capsys):
    from django.core.management import call_command

    from analytics.models import AnalyticsSettings, FamilyOutcome
    from tests.orders.helpers import place_order, stocked_product

    place_order(tenant, [(stocked_product(tenant), 2)])
    assert not FamilyOutcome.objects.exists()
    call_command("build_reports", tenant.slug)
    assert FamilyOutcome.objects.filter(tenant_id=tenant.pk).count() == 1
    assert AnalyticsSettings.objects.get(tenant=tenant).purchases_refreshed_at is not None
    assert f"{tenant.slug}: reports built" in capsys.readouterr().out


def test_report_csvs_neutralise_shop_text_a_spreadsheet_would_run(client_for, history, tenant):
    from analytics.services import refresh_summaries
    from oms.models import Event
    from orders.models import OrderStatus
    from orders.services.settings import save_status
    from tests.analytics.conftest import at, make_order
    from tests.factories import make_member

    confirmed = OrderStatus.objects.get(tenant=tenant, code="confirmed")
    save_status(
        tenant=tenant,
        status=confirmed,
        code=confirmed.code,
        name='=HYPERLINK("http://x")',
        group=confirmed.group,
        color=confirmed.color,
        position=confirmed.position,
        is_active=True,
    )
    boss = make_member(tenant, Role.MANAGER, username="@boss")
    late = make_order(tenant, history.customers["Bob"], "delivered", "70", at(4, 1), channel="+1", manager=boss)
    Event.objects.create(tenant=tenant, kind="order.overdue", created_at=at(4, 2), payload={"order_id": late.pk})
    refresh_summaries(tenant=tenant, force=True)
    owner = client_for(Role.OWNER)

    def table(page, name):
        return read_csv(owner.get(reverse(page), {**YEAR, "format": "csv", "table": name}))

    channels = {row[0]: row for row in table("analytics:home", "channels")[1:]}
    assert "'+1" in channels and "+1" not in channels
    assert channels["'+1"][3] == "70.00"  # amounts stay numbers
    assert '\'=HYPERLINK("http://x")' in [row[0] for row in table("analytics:flow", "statuses")[1:]]
    assert '\'=HYPERLINK("http://x")' in [row[0] for row in table("analytics:sla", "statuses")[1:]]
    assert "'@boss" in [row[0] for row in table("analytics:sla", "managers")[1:]]


def _purchase_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "analytics_purchase" in q["sql"]]


@pytest.mark.parametrize("name", ["analytics:home", "analytics:cohorts", "analytics:ltv"])
def test_a_reopened_report_takes_its_rows_from_the_cache_until_the_summary_is_rebuilt(client_for, history, name):
    owner = client_for(Role.OWNER)
    first = owner.get(reverse(name), YEAR).content.decode()
    with CaptureQueriesContext(connection) as queries:
        again = owner.get(reverse(name), YEAR).content.decode()
    assert not _purchase_reads(queries)
    assert _report_of(again) == _report_of(first)
    with CaptureQueriesContext(connection) as queries:  # other filters are other rows
        owner.get(reverse(name), {**YEAR, "date_from": "2025-02-01"})
    assert _purchase_reads(queries)


def _report_of(page: str) -> str:
    return page[page.index('id="report"') :]  # the part above holds the CSRF token, new for each client


def test_a_rebuilt_summary_shows_at_once_though_the_old_rows_were_cached(client_for, history, tenant):
    from orders.models import Order

    owner = client_for(Role.OWNER)
    metrics = {"format": "csv", "table": "metrics", **YEAR}
    assert read_csv(owner.get(reverse("analytics:ltv"), metrics))[1][:3] == ["4", "5", "540.00"]
    Order.objects.filter(pk=history.orders["C2"].pk).update(group="complete", updated_at=timezone.now())
    assert read_csv(owner.get(reverse("analytics:ltv"), metrics))[1][:3] == ["4", "5", "540.00"]  # not rebuilt yet
    refresh_summaries(tenant=tenant)
    assert read_csv(owner.get(reverse("analytics:ltv"), metrics))[1][:3] == ["4", "6", "580.00"]


def test_shops_rebuilt_in_the_same_instant_never_share_cached_rows(
    client_for, history, foreign_history, tenant, other_tenant
):
    same_instant = AnalyticsSettings.objects.get(tenant=tenant).purchases_refreshed_at
    with rls.tenant_context(other_tenant.pk):
        AnalyticsSettings.objects.filter(tenant=other_tenant).update(purchases_refreshed_at=same_instant)
    foreign = client_for(Role.OWNER, on_tenant=other_tenant).get(reverse("analytics:home"), YEAR).content.decode()
    assert "shop-b-only" in foreign
    own = client_for(Role.OWNER).get(reverse("analytics:home"), YEAR).content.decode()
    assert "shop-b-only" not in own and "12000" not in own

"""An owner opens the cohort page, sees the retention matrix, and switches it to revenue without a reload."""

import pytest

from oms.models import Role
from tests.analytics.conftest import build_history
from tests.factories import PASSWORD, make_member

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_sees_the_cohort_matrix_and_switches_metric(tenant, live_server, page):
    build_history(tenant)
    owner = make_member(tenant, Role.OWNER)
    log_in(page, live_server.url, owner.username, PASSWORD)
    page.goto(f"{live_server.url}/analytics/cohorts/?date_from=2025-01-01&date_to=2025-12-31")
    matrix = page.locator("[data-testid=cohort-matrix]")
    matrix.wait_for()
    first_row = matrix.locator("tbody tr").first
    assert first_row.locator("th").inner_text() == "2025-01"
    assert first_row.locator("td").nth(0).inner_text() == "3"  # cohort size
    assert "33.3%" in first_row.inner_text()  # Ann bought again in month 2
    assert "heat-" in (first_row.locator("td").nth(3).get_attribute("class") or "")

    marker = page.evaluate("() => (window.__noReload = 1)")
    page.select_option("select[name=metric]", "revenue")
    page.wait_for_selector("h2:has-text('Revenue retention')")
    assert "380" in page.locator("[data-testid=cohort-matrix] tbody tr").first.inner_text()  # January revenue
    assert page.evaluate("() => window.__noReload") == marker  # an htmx swap, not a reload
    assert "metric=revenue" in page.url  # the filter is in the address, so it can be bookmarked


def test_phone_sees_the_matrix_scrollable(tenant, live_server, phone_page):
    build_history(tenant)
    owner = make_member(tenant, Role.OWNER)
    log_in(phone_page, live_server.url, owner.username, PASSWORD)
    phone_page.goto(f"{live_server.url}/analytics/cohorts/?date_from=2025-01-01&date_to=2025-12-31")
    phone_page.locator("[data-testid=cohort-matrix]").wait_for()
    page_width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= 400  # the wide matrix scrolls inside its box, not the whole page


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_owner_reads_what_splitting_earns_at_desktop_and_phone_width(tenant, live_server, request, viewport):
    from tests.analytics.test_split_report import add_split_facts

    page = request.getfixturevalue(viewport)
    add_split_facts(tenant, build_history(tenant))
    owner = make_member(tenant, Role.OWNER)
    log_in(page, live_server.url, owner.username, PASSWORD)
    page.goto(f"{live_server.url}/analytics/split-offs/?date_from=2025-01-01&date_to=2025-12-31")
    assert page.locator("[data-testid=split-recovered]").inner_text() == "80.00"
    assert page.locator("[data-testid=split-value]").inner_text() == "140.00"
    assert page.locator("[data-testid=split-method]").is_visible()
    width = page.viewport_size["width"]
    page.screenshot(path=f"/tmp/shots/splits-{width}.png", full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.fill("input[name=date_from]", "2025-02-01")  # the filter swaps the report in place
    page.locator("input[name=date_from]").dispatch_event("change")
    page.wait_for_selector("[data-testid=split-children]:text-is('1')")

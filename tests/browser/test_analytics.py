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


@pytest.mark.parametrize("path", ["/analytics/", "/analytics/flow/", "/analytics/lifetime-value/"])
def test_charts_draw_in_russian(tenant, live_server, page, path):
    """Russian writes a decimal comma; the charts' coordinates are SVG numbers and must keep their point."""
    from oms.models import Preferences

    from .watch import assert_fits, watch

    build_history(tenant)
    owner = make_member(tenant, Role.OWNER)
    Preferences.objects.update_or_create(user=owner, defaults={"language": "ru"})
    console = watch(page)
    log_in(page, live_server.url, owner.username, PASSWORD)
    page.goto(f"{live_server.url}{path}?date_from=2025-01-01&date_to=2025-12-31")
    page.locator("svg.chart-svg").first.wait_for()
    coordinates = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart-svg *')].flatMap(el =>
             ['x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height', 'cx', 'cy', 'points']
               .map(name => el.getAttribute(name)).filter(Boolean))"""
    )
    assert coordinates and not [value for value in coordinates if "," in value and " " not in value]
    if path == "/analytics/flow/":  # stages and groups by their names, durations in the reader's units
        assert "СОГЛАСОВАНИЕ" in page.inner_text("[data-testid=funnel-table]").upper()
        assert " ч" in page.inner_text("[data-testid=group-times]")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert_fits(page)  # wide tables scroll in their own box on a phone
    console.assert_clean()

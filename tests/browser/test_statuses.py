"""The statuses screen: each field stands under its heading, a row's Save sends that row, and a phone shows
every field without sideways scrolling."""

import pytest

from oms.models import Role
from orders.models import OrderStatus
from tests.factories import PASSWORD, make_member

from .conftest import DESKTOP, PHONE, log_in
from .watch import assert_fits, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_an_admin_renames_a_status_in_its_row(tenant, live_server, browser, viewport):
    admin = make_member(tenant, Role.ADMIN)
    page = browser.new_context(viewport=viewport).new_page()
    log_in(page, live_server.url, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/settings/statuses/")
    settle(page)
    assert_fits(page)
    if viewport is DESKTOP:
        table = page.locator("table.statuses").first
        for heading, field in (("Group", "select[name=group]"), ("Purpose", "select[name=purpose]")):
            th = table.locator("th", has_text=heading).first.bounding_box()
            cell = table.locator(field).first.bounding_box()
            assert abs(th["x"] - cell["x"]) < 16, heading  # the field starts under its heading
    page.screenshot(path=f"/tmp/shots/statuses-{viewport['width']}.png", full_page=True)
    confirmed = OrderStatus.objects.get(tenant=tenant, code="confirmed")
    page.fill(f"input[name=name][form=status-{confirmed.pk}]", "Approved by phone")
    page.click(f"#status-{confirmed.pk} button")
    page.wait_for_selector("input[value='Approved by phone']")
    confirmed.refresh_from_db()
    assert confirmed.name == "Approved by phone"

"""Every action answers with the screen as it now is: no stale buttons, no reload, no console error."""

import pytest

from oms.models import Role
from orders.models import Order
from shipments.models import Route
from tests.factories import PASSWORD, make_member
from tests.shipments.helpers import handed_to_courier, packed_order

from .conftest import log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_courier_departs_delivers_and_closes_and_the_route_follows(tenant, live_server, phone_page):
    page = phone_page
    console = watch(page)
    order, stop, courier = handed_to_courier(tenant, payment_status="paid")
    log_in(page, live_server.url, courier.username, PASSWORD)
    page.goto(f"{live_server.url}/shipments/route/")
    page.wait_for_selector("[data-testid=depart]")
    assert page.locator(f"[data-testid=map-{order.number}]").get_attribute("href").startswith("https://")
    marker = page.evaluate("() => (window.__noReload = 3)")

    page.click("[data-testid=depart]")
    page.wait_for_selector("[data-testid=close]")
    assert page.locator("[data-testid=depart]").count() == 0
    assert page.locator("[data-testid=close]").is_disabled()  # one order still open

    page.click(f"[data-testid=deliver-{order.number}]")
    page.wait_for_selector(f"[data-stop='{order.number}'].delivered")
    assert page.locator("[data-testid=close]").is_enabled()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=close]")
    page.wait_for_selector(".route-head:has-text('closed')")
    assert page.locator("[data-testid=close]").count() == 0
    assert page.evaluate("() => window.__noReload") == marker
    assert Route.objects.get(pk=stop.route.pk).closed_at is not None
    assert_fits(page)
    console.assert_clean()


def test_handover_moves_the_parcel_out_of_waiting_and_a_second_scan_is_calm(tenant, live_server, page):
    console = watch(page)
    packer = make_member(tenant, Role.PACKER)
    courier = make_member(tenant, Role.COURIER, username="courier-ivy")
    order = packed_order(tenant)
    log_in(page, live_server.url, packer.username, PASSWORD)
    page.goto(f"{live_server.url}/shipments/handover/?to=courier:{courier.pk}")
    page.wait_for_selector(f"#scan-area li:has-text('{order.number}')")
    marker = page.evaluate("() => (window.__noReload = 4)")
    for attempt in range(2):
        page.fill("input[name=code]", order.number)
        page.press("input[name=code]", "Enter")
        if attempt == 0:
            page.wait_for_selector(".scan-result.accepted")
    page.wait_for_selector(".scan-result.repeated:has-text('already handed over')")
    waiting = page.inner_text("#scan-area section:has-text('Packed, waiting')")
    assert order.number not in waiting
    assert page.evaluate("() => window.__noReload") == marker
    assert Order.objects.get(pk=order.pk).group == "delivery"
    console.assert_clean()


def test_marking_an_alert_read_updates_the_header_counter_at_once(tenant, live_server, page):
    from notifications.services import inbox

    console = watch(page)
    manager = make_member(tenant, Role.MANAGER)
    inbox.create_alerts(tenant=tenant, user_ids=[manager.pk], title="First")
    inbox.create_alerts(tenant=tenant, user_ids=[manager.pk], title="Second")
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/alerts/")
    page.wait_for_selector("[data-testid=alert-count]:text('2')")
    marker = page.evaluate("() => (window.__noReload = 5)")
    page.locator("button:has-text('Mark read')").first.click()
    page.wait_for_selector("[data-testid=alert-count]:text('1')", timeout=5_000)  # not after the 30 s poll
    assert page.evaluate("() => window.__noReload") == marker
    console.assert_clean()

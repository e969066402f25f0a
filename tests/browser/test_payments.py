"""Money on screen: the manager's payments panel and the courier's cash on delivery, both without a reload."""

import pytest

from oms.models import Role
from shipments.models import Incident, IncidentKind
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import place_order, stocked_product
from tests.shipments.helpers import courier_of, handed_to_courier

from .conftest import log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_takes_a_payment_and_a_refund_in_the_payments_panel(tenant, live_server, page):
    console = watch(page)
    manager = make_member(tenant, Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant, price="40.00"), 1)])
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    marker = page.evaluate("() => (window.__noReload = 5)")
    panel = page.locator("#payments")
    assert panel.locator("[data-testid=payment-status]").inner_text() == "Unpaid"

    panel.locator("input[name=amount]").fill("25.00")
    panel.locator("input[name=method]").fill("card")
    panel.locator("button[type=submit]").click()
    page.wait_for_selector("#payments [data-testid=payment-status]:text('Partially paid')")
    assert page.inner_text("#payments [data-testid=due]") == "15.00"

    panel = page.locator("#payments")
    panel.locator("select[name=kind]").select_option("refund")
    panel.locator("input[name=amount]").fill("30.00")
    panel.locator("button[type=submit]").click()
    page.wait_for_selector("text=more than the 25.00 paid")
    assert page.inner_text("#payments [data-testid=paid]") == "25.00"  # refused: nothing changed

    page.locator("#payments input[name=amount]").fill("5.00")
    page.locator("#payments select[name=kind]").select_option("refund")
    page.locator("#payments button[type=submit]").click()
    page.wait_for_selector("#payments [data-testid=paid]:text('20.00')")
    assert "Refund of 5.00 by card" in page.inner_text("[aria-label=Timeline]")
    assert page.evaluate("() => window.__noReload") == marker
    console.assert_clean()


def test_courier_sees_cash_due_on_a_phone_and_a_short_route_raises_an_incident(tenant, live_server, phone_page):
    page = phone_page
    console = watch(page)
    courier = courier_of(tenant)
    first, stop, _ = handed_to_courier(tenant, courier=courier)
    second, _, _ = handed_to_courier(tenant, courier=courier)
    expected = first.total + second.total
    log_in(page, live_server.url, courier.username, PASSWORD)
    page.goto(f"{live_server.url}/shipments/route/")
    assert f"{expected:.2f} to collect" in page.inner_text("[data-testid=cash]")
    page.click("[data-testid=depart]")
    page.wait_for_selector("[data-testid=close]")

    page.fill(f"[data-stop='{first.number}'] input[name=amount_collected]", f"{first.total:.2f}")
    page.click(f"[data-testid=deliver-{first.number}]")
    page.wait_for_selector(f"[data-stop='{first.number}'].delivered")
    page.fill(f"[data-stop='{second.number}'] input[name=amount_collected]", f"{second.total - 2:.2f}")
    page.click(f"[data-testid=deliver-{second.number}]")
    page.wait_for_selector(f"text={second.total - 2:.2f} is not the {second.total:.2f} due")  # asked to count again
    assert page.input_value(f"[data-stop='{second.number}'] input[name=amount_collected]") == f"{second.total - 2:.2f}"
    page.screenshot(path="/tmp/shots/courier-short-cash-390.png", full_page=True)
    page.click(f"[data-testid=deliver-{second.number}]")
    page.wait_for_selector(f"[data-stop='{second.number}'].delivered")
    assert f"{expected - 2:.2f} collected" in page.inner_text("[data-testid=cash]")
    assert_fits(page)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=close]")
    page.wait_for_selector(".route-head:has-text('closed')")
    assert Incident.objects.filter(route=stop.route, kind=IncidentKind.CASH_MISMATCH).exists()
    first.refresh_from_db()
    assert first.payment_status == "paid"
    console.assert_clean()

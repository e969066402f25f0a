"""A manager takes an order from `new` through reserve, split and `assembling`, without full reloads."""

import pytest

from oms.models import Role
from orders.models import Order
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import place_order, stocked_product

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_reserves_splits_and_starts_assembly(tenant, live_server, page):
    manager = make_member(tenant, Role.MANAGER)
    plenty = stocked_product(tenant, on_hand=10, sku="MUG")
    scarce = stocked_product(tenant, on_hand=1, sku="CAP")
    order = place_order(tenant, [(plenty, 2), (scarce, 3)], customer_name="Ann Lee")

    log_in(page, live_server.url, manager.username, PASSWORD)
    page.fill("input[name=q]", order.number)
    page.get_by_role("link", name=order.number, exact=True).click()
    page.wait_for_selector("#order-body")
    marker = page.evaluate("() => (window.__noReload = 1)")

    page.click("[data-testid=to-confirmed]")
    page.wait_for_selector(".status-pill:text('Confirmed')")
    page.click("[data-testid=reserve]")
    page.wait_for_selector("[data-testid=reserved-CAP]:text('1/3')")
    assert page.inner_text("[data-testid=reserved-MUG]") == "2/2"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=split]")
    page.wait_for_selector(".family a")
    child = Order.objects.get(parent=order)
    assert child.number in page.inner_text(".family")
    assert page.inner_text("[data-testid=reserved-CAP]") == "1/1"

    page.click("[data-testid=to-assembling]")
    page.wait_for_selector(".status-pill:text('Assembling')")
    assert page.evaluate("() => window.__noReload") == marker  # every step was an htmx swap
    order.refresh_from_db()
    assert (order.status.code, child.status.code) == ("assembling", "awaiting-stock")


def test_refused_move_shows_the_reason(tenant, live_server, page):
    manager = make_member(tenant, Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0, sku="GONE"), 1)])
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.click("[data-testid=to-confirmed]")
    page.wait_for_selector("[data-testid=to-assembling]")
    page.click("[data-testid=to-assembling]")
    page.wait_for_selector(".flash-error")
    assert "0 of 1 reserved" in page.inner_text(".flash-error")


def test_a_swap_never_writes_a_style_attribute_the_policy_forbids(tenant, live_server, page):
    """htmx carries some attributes of an element with an id over a swap; a style a script set (a status colour)
    must not be among them: the Content Security Policy refuses style attributes and says so in the console."""
    from .watch import watch

    console = watch(page)
    manager = make_member(tenant, Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant, on_hand=5, sku="MUG"), 1)])
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.evaluate("() => document.querySelector('#payments').style.setProperty('--dot', '#123456')")
    page.click("[data-testid=to-confirmed]")
    page.wait_for_selector(".status-pill:text('Confirmed')")
    console.assert_clean()

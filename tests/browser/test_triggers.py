"""An admin builds a trigger with the htmx builder, dry-runs it, and sees it fire when a manager acts."""

import pytest

from notifications.models import Trigger
from oms.models import Role
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import place_order, stocked_product

from .conftest import DESKTOP, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def with_swap(page, action):
    """Do what re-renders the builder (a picker changed), and wait until the new builder is in place."""
    with page.expect_response(lambda response: response.request.method == "POST"):
        action()
    settled(page)


def settled(page):
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")


def test_admin_builds_a_trigger_and_sees_it_fire(tenant, live_server, page, browser):
    admin = make_member(tenant, Role.ADMIN)
    manager = make_member(tenant, Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant, on_hand=5, sku="MUG"), 1)], customer_name="Ann Lee")
    order.manager = manager
    order.save(update_fields=["manager"])

    log_in(page, live_server.url, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/alerts/settings/triggers/")
    page.click("text=New trigger")
    page.fill("input[name=name]", "Confirmed: call the customer")
    page.select_option("select[name=event_kind]", "order.status_changed")
    marker = page.evaluate("() => (window.__noReload = 7)")
    with_swap(page, lambda: page.select_option("select[name=cond_field]", "to_status"))
    with_swap(page, lambda: page.select_option("select[name=cond_op]", "eq"))
    page.select_option("select[name=cond_value]", label="Confirmed")  # a picker of the shop's statuses
    page.click("button[value=add_action]")
    page.wait_for_function("() => document.querySelectorAll('select[name=act_type]').length === 2")
    page.click("button[value=add_condition]")
    page.wait_for_function("() => document.querySelectorAll('select[name=cond_field]').length === 2")
    page.click("button[value='remove_condition:1']")
    page.wait_for_function("() => document.querySelectorAll('select[name=cond_field]').length === 1")
    settled(page)  # a change fired while the builder still settles is dropped by htmx
    assert page.input_value("select[name=cond_value]") == "confirmed"  # chosen values survive the swaps
    actions = page.locator("select[name=act_type]")
    with_swap(page, lambda: actions.nth(0).select_option("alert"))
    page.select_option("[data-testid=act-value-1]", "manager")
    page.locator("input[name=act_text]").nth(0).fill("Order confirmed: call the customer")
    with_swap(page, lambda: actions.nth(1).select_option("tag_order"))
    page.fill("[data-testid=act-value-2]", "called")
    assert page.evaluate("() => window.__noReload") == marker  # the builder never reloaded the page
    page.click("button[value=save]")
    page.wait_for_selector("text=Dry run")
    trigger = Trigger.objects.get()
    assert [a["type"] for a in trigger.actions] == ["alert", "tag_order"]

    page.fill("form[hx-get] input[name=order]", order.number)
    page.click("form[hx-get] button")
    page.wait_for_selector("[data-testid=dry-run] .badge")
    assert "would not fire" in page.inner_text("[data-testid=dry-run]")  # the order is still new

    context = browser.new_context(viewport=DESKTOP)
    manager_page = context.new_page()
    manager_page.set_default_timeout(10_000)
    log_in(manager_page, live_server.url, manager.username, PASSWORD)
    manager_page.goto(f"{live_server.url}/orders/{order.pk}/")
    manager_page.click("[data-testid=to-confirmed]")
    manager_page.wait_for_selector(".status-pill:text('Confirmed')")
    manager_page.goto(f"{live_server.url}/alerts/")
    assert manager_page.inner_text("[data-testid=alert-count]") == "1"
    assert "Order confirmed: call the customer" in manager_page.inner_text("#alerts")
    context.close()

    page.goto(f"{live_server.url}/alerts/settings/triggers/{trigger.pk}/log/")
    log = page.inner_text(".runs")
    assert "Done" in log and "Order tagged called" in log and order.number in log
    order.refresh_from_db()
    assert order.tags == ["called"]

"""A manager enters a phone order with the keyboard only: find, pick, step the quantity, create."""

import pytest

from oms.models import Role
from orders.models import Order
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import stocked_product

from .conftest import log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_enters_an_order_with_the_keyboard_only(tenant, live_server, page):
    console = watch(page)
    manager = make_member(tenant, Role.MANAGER)
    mug = stocked_product(tenant, sku="MUG-LOGO", name="Mug with logo", on_hand=2)
    cap = stocked_product(tenant, sku="CAP-RED", name="Red cap", barcode="4600000000028", on_hand=9)
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/new/")
    page.fill("input[name=customer_name]", "Ann Lee")

    page.focus("[data-pick-search]")
    page.keyboard.type("mug with")
    page.wait_for_selector("[data-testid=pick-MUG-LOGO]:has-text('2 available')")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the focused result is added
    page.wait_for_selector("[data-entry-line][data-sku='MUG-LOGO']")
    assert page.evaluate("document.activeElement.matches('[data-pick-search]')")

    page.keyboard.type("4600000000028")  # a barcode
    page.wait_for_selector("[data-testid=pick-CAP-RED]")
    page.keyboard.press("Enter")  # Enter in the search adds the first result
    page.wait_for_selector("[data-entry-line][data-sku='CAP-RED']")

    mug_row = page.locator("[data-entry-line][data-sku='MUG-LOGO']")
    for _ in range(2):
        mug_row.locator("[data-step='1']").click()
    assert mug_row.locator("[data-entry-qty]").input_value() == "3"
    assert mug_row.locator("[data-entry-short]").is_visible()  # 3 wanted, 2 available
    mug_row.locator("[data-step='-1']").click()
    assert not mug_row.locator("[data-entry-short]").is_visible()
    assert_fits(page)

    page.click("button:has-text('Create order')")
    page.wait_for_selector("#order-body")
    order = Order.objects.get()
    assert sorted((ln.product.sku, ln.quantity) for ln in order.lines.select_related("product")) == [
        ("CAP-RED", 1),
        ("MUG-LOGO", 2),
    ]
    assert {mug.pk, cap.pk} == {ln.product_id for ln in order.lines.all()}
    console.assert_clean()

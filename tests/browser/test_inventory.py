import pytest

from oms.models import Role
from tests.factories import PASSWORD, ProductFactory, WarehouseFactory, make_member

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(tenant):
    WarehouseFactory(tenant=tenant, code="MAIN", name="Main warehouse")
    ProductFactory(tenant=tenant, sku="TEE-BLK-M", name="Black tee M", barcode="4006381333931")
    ProductFactory(tenant=tenant, sku="MUG-01", name="Coffee mug")
    return tenant


def test_manager_finds_a_product_and_receives_stock_without_a_reload(shop, live_server, page):
    manager = make_member(shop, Role.MANAGER)
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/inventory/products/")

    page.fill("input[name=q]", "black tee")
    page.locator("#product-table").get_by_text("MUG-01").wait_for(state="detached")
    page.get_by_role("link", name="TEE-BLK-M").click()
    page.wait_for_url("**/inventory/products/*/")
    assert "Black tee M" in page.locator("h1").inner_text()
    assert page.get_by_test_id("total-on-hand").inner_text().startswith("On hand in total: 0")

    page.evaluate("window.sameDocument = true")  # gone if the browser loads a new page
    form = page.get_by_test_id("receipt-form")
    form.locator("select").select_option(label="MAIN · Main warehouse")
    form.get_by_label("Quantity").fill("12")
    form.get_by_label("Note").fill("PO-77")
    form.get_by_role("button", name="Receive").click()

    page.get_by_test_id("on-hand-MAIN").filter(has_text="12").wait_for()
    assert page.evaluate("window.sameDocument") is True
    assert "Received 12 × TEE-BLK-M into MAIN." in page.locator("#stock").inner_text()
    assert "PO-77" in page.locator(".ledger").inner_text()

    # A refused write-off shows its reason inline, still without a reload.
    page.once("dialog", lambda dialog: dialog.accept())
    form = page.get_by_test_id("write-off-form")
    form.get_by_label("Quantity").fill("13")
    form.get_by_label("Reason").fill("broken")
    form.get_by_role("button", name="Write off").click()
    page.locator("#stock .flash-error").wait_for()
    assert "Only 12 unit(s)" in page.locator("#stock .flash-error").inner_text()
    assert page.evaluate("window.sameDocument") is True
    assert page.get_by_test_id("on-hand-MAIN").inner_text() == "12"

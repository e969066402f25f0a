"""A transfer on screen: the manager sends units to the shop's second warehouse, a packer there scans them in."""

import pytest

from inventory.models import StockLevel, TransferState
from oms.models import Role
from tests.factories import PASSWORD, WarehouseFactory, make_member
from tests.orders.helpers import stocked_product

from .conftest import PHONE, log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_sends_a_transfer_and_a_packer_scans_it_in(tenant, live_server, page, browser):
    console = watch(page)
    main, shop = WarehouseFactory(tenant=tenant, code="MAIN"), WarehouseFactory(tenant=tenant, code="SHOP")
    mug = stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main, barcode="4600000000024")
    manager = make_member(tenant, Role.MANAGER)
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/inventory/purchases/")
    page.click("text=Transfers")
    page.click("text=New transfer")
    page.select_option("select[name=from_warehouse]", "MAIN")
    page.select_option("select[name=to_warehouse]", "SHOP")
    page.fill("textarea[name=lines]", "MUG 2")
    page.click("button:text('Send')")
    page.wait_for_selector("[data-testid=transfer-state]:text('In transit')")
    transfer_url = page.url
    assert StockLevel.objects.get(product=mug, warehouse=main).on_hand == 3

    packer_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    packer_page = packer_context.new_page()
    packer_console = watch(packer_page)
    packer = make_member(tenant, Role.PACKER)
    log_in(packer_page, live_server.url, packer.username, PASSWORD)
    packer_page.goto(transfer_url)
    for _ in range(2):
        packer_page.fill("[data-testid=scan]", "4600000000024")
        packer_page.keyboard.press("Enter")
        packer_page.wait_for_selector("text=MUG: one received")
    packer_page.wait_for_selector("[data-testid=transfer-state]:text('Received')")
    assert StockLevel.objects.get(product=mug, warehouse=shop).on_hand == 2
    assert_fits(packer_page)
    packer_page.screenshot(path="/tmp/shot-transfer-phone.png", full_page=True)
    packer_console.assert_clean()
    packer_context.close()
    page.goto(transfer_url)
    assert page.inner_text("[data-testid=transfer-state]") == TransferState.RECEIVED.label
    console.assert_clean()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_manager_ends_a_transfer_whose_rest_went_back(tenant, live_server, page, viewport):
    from inventory import transfers

    if viewport:
        page.set_viewport_size(viewport)
    console = watch(page)
    main, _ = WarehouseFactory(tenant=tenant, code="MAIN"), WarehouseFactory(tenant=tenant, code="SHOP")
    mug = stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 3)])
    manager = make_member(tenant, Role.MANAGER)
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/inventory/transfers/{transfer.pk}/")
    page.click("[data-testid=transfer-end] summary")
    page.once("dialog", lambda dialog: dialog.accept())
    page.fill("[data-testid=transfer-end-reason]", "sent to the wrong shop")
    page.click("[data-testid=transfer-cancel]")
    page.wait_for_selector("[data-testid=transfer-state]:text('Cancelled')")
    assert "3 back at MAIN" in page.inner_text("#receiving")
    assert "sent to the wrong shop" in page.inner_text("[data-testid=transfer-closed]")
    assert StockLevel.objects.get(product=mug, warehouse=main).on_hand == 5
    assert not page.locator("[data-testid=transfer-end]").count()
    assert_fits(page)
    page.screenshot(path=f"/tmp/shot-transfer-ended-{'phone' if viewport else 'desktop'}.png", full_page=True)
    console.assert_clean()

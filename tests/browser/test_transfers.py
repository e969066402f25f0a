"""A transfer on screen: the manager sends units to the shop's second warehouse, a packer there scans them in."""

import pytest

from inventory.models import StockLevel, TransferState
from oms.models import Role
from tests.factories import PASSWORD, WarehouseFactory, make_member
from tests.orders.helpers import stocked_product

from .conftest import PHONE, log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_new_transfer(page, base_url, manager):
    """The manager's new transfer of two MUG from MAIN to SHOP, filled in and not sent yet."""
    log_in(page, base_url, manager.username, PASSWORD)
    page.goto(f"{base_url}/inventory/purchases/")
    page.click("text=Transfers")
    page.click("text=New transfer")
    page.select_option("select[name=from_warehouse]", "MAIN")
    page.select_option("select[name=to_warehouse]", "SHOP")
    page.fill("textarea[name=lines]", "MUG 2")


def test_manager_sends_a_transfer_and_a_packer_scans_it_in(tenant, live_server, page, browser):
    console = watch(page)
    main, shop = WarehouseFactory(tenant=tenant, code="MAIN"), WarehouseFactory(tenant=tenant, code="SHOP")
    mug = stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main, barcode="4600000000024")
    manager = make_member(tenant, Role.MANAGER)
    fill_new_transfer(page, live_server.url, manager)
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


def test_a_second_press_while_the_first_is_on_its_way_makes_one_transfer(tenant, live_server, page, monkeypatch):
    """A double click on a slow day: the first post is still being answered when the second press comes. Without a
    guard the browser posts the form again and the stock moves twice."""
    import time

    from inventory import transfers
    from inventory.models import Transfer

    console = watch(page)
    main, _ = WarehouseFactory(tenant=tenant, code="MAIN"), WarehouseFactory(tenant=tenant, code="SHOP")
    mug = stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main)
    manager = make_member(tenant, Role.MANAGER)
    create = transfers.create_transfer

    def slow_create(**kwargs):
        time.sleep(0.6)  # the server takes its time over the first post
        return create(**kwargs)

    monkeypatch.setattr(transfers, "create_transfer", slow_create)
    fill_new_transfer(page, live_server.url, manager)
    # Both presses inside the page, the second 200 ms after the first, while the first post is still being answered.
    page.locator("button:text('Send')").evaluate("button => { button.click(); setTimeout(() => button.click(), 200); }")
    page.wait_for_selector("[data-testid=transfer-state]:text('In transit')")
    page.wait_for_timeout(1000)  # a second post would have been answered by now
    assert Transfer.objects.filter(tenant=tenant).count() == 1
    assert StockLevel.objects.get(product=mug, warehouse=main).on_hand == 3
    console.assert_clean()

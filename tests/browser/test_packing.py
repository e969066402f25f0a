"""A packer scans an order to completion at the packing station (keyboard only) and hands it to a courier."""

import pytest

from oms.models import Role
from orders.models import Order
from shipments.models import CustodyTransfer
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import stocked_product
from tests.shipments.helpers import order_to_pack

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scan(page, code):
    """What a barcode scanner does: type into the focused field, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_packer_scans_an_order_to_completion_and_hands_it_to_a_courier(tenant, live_server, page):
    packer = make_member(tenant, Role.PACKER)
    courier = make_member(tenant, Role.COURIER, username="courier-kim")
    mug = stocked_product(tenant, on_hand=10, sku="MUG", barcode="4600000000011")
    cap = stocked_product(tenant, on_hand=10, sku="CAP", barcode="4600000000028")
    stranger = stocked_product(tenant, on_hand=10, sku="HAT", barcode="4600000000035")
    order = order_to_pack(tenant, lines=[(mug, 2), (cap, 1)])

    log_in(page, live_server.url, packer.username, PASSWORD)
    assert page.url.endswith("/shipments/packing/")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'order'")
    scan(page, order.number)
    page.wait_for_selector("#station")
    page.wait_for_url(f"**/shipments/packing/{order.pk}/")
    page.wait_for_load_state("networkidle")  # the station page, settled: from here on nothing may reload it
    page.wait_for_function("document.activeElement && document.activeElement.name === 'code'")
    page.evaluate("() => (window.__noReload = 1)")

    scan(page, mug.barcode)
    page.wait_for_selector("[data-testid=scanned-MUG]:text('1')")
    scan(page, stranger.barcode)  # wrong item: refused, nothing counted
    page.wait_for_selector(".scan-result.refused:has-text('Wrong item')")
    assert page.inner_text("[data-testid=progress]").startswith("1")
    scan(page, "MUG")
    page.wait_for_selector("[data-testid=scanned-MUG]:text('2')")
    scan(page, mug.barcode)  # one too many
    page.wait_for_selector(".scan-result.refused:has-text('One too many')")
    page.keyboard.press("Control+z")  # undo the last accepted scan
    page.wait_for_selector("[data-testid=scanned-MUG]:text('1')")
    assert page.evaluate("document.activeElement.name") == "code"  # focus never leaves the scan input
    scan(page, mug.barcode)
    page.wait_for_selector("[data-testid=scanned-MUG]:text('2')")
    with page.context.expect_page() as popup_info:  # the documents open for printing
        scan(page, cap.barcode)
        page.wait_for_selector("[data-testid=packing-complete]")
    popup_info.value.wait_for_url(
        f"**/shipments/documents/slip.pdf?orders={order.pk}", wait_until="commit", timeout=30_000
    )
    assert page.evaluate("window.__noReload") == 1
    page.keyboard.press("Tab")  # a keyboard-only packer reaches the documents and "Next order"
    page.wait_for_timeout(400)
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON")
    page.keyboard.type("46")  # a scan starting while a button has focus lands in the scan input
    assert page.evaluate("[document.activeElement.name, document.activeElement.value]") == ["code", "46"]
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    order.refresh_from_db()
    assert order.status.code == "packed" and order.packing_verified_at is not None

    page.click("text=Next order")
    page.click("text=Handover")
    page.select_option("[data-testid=holder]", f"courier:{courier.pk}")
    page.click("text=Start scanning")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'code'")
    assert page.evaluate("document.activeElement.name") == "code"
    scan(page, order.number)
    page.wait_for_selector(".scan-result.accepted:has-text('handed to courier-kim')")
    order = Order.objects.get(pk=order.pk)
    assert order.group == "delivery" and order.handed_over_at is not None
    transfer = CustodyTransfer.objects.get(order=order)
    assert transfer.to_user == courier and transfer.scanned_by == packer

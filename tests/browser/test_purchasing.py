"""Receiving a purchase order by scan at the warehouse, and the split-off child it was waiting for reserved."""

import pytest

from inventory import purchasing
from oms.models import Role
from orders.services import families
from orders.services.reservations import reserve_order
from tests.factories import PASSWORD, WarehouseFactory, make_member
from tests.orders.helpers import SYSTEM, move, place_order, stocked_product

from .conftest import log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_packer_receives_by_scan_and_the_waiting_child_is_reserved(tenant, live_server, page):
    console = watch(page)
    WarehouseFactory(tenant=tenant, code="MAIN")
    tea = stocked_product(tenant, sku="TEA", on_hand=0, barcode="4600000000017")
    mug = stocked_product(tenant, sku="MUG", on_hand=3)
    parent = move(place_order(tenant, [(mug, 1), (tea, 2)]), "confirmed")
    reserve_order(order=parent, actor=SYSTEM)
    child = families.split_unavailable(order=parent, actor=SYSTEM)
    po = purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 2)]
    )
    packer = make_member(tenant, Role.PACKER)
    log_in(page, live_server.url, packer.username, PASSWORD)
    page.goto(f"{live_server.url}/inventory/purchases/")
    page.click(f"text={po.number}")
    marker = page.evaluate("() => (window.__noReload = 9)")
    for expected in ("1 of 2", "2 of 2"):
        page.fill("[data-testid=scan]", "4600000000017")
        page.press("[data-testid=scan]", "Enter")
        page.wait_for_selector(f"[data-line=TEA]:has-text('{expected}')")
    assert page.inner_text("[data-testid=po-state]") == "Received"
    assert page.locator("[data-testid=scan]").count() == 0  # nothing more to receive
    assert page.evaluate("() => window.__noReload") == marker
    assert_fits(page)
    console.assert_clean()
    child.refresh_from_db()
    assert [line.reserved for line in child.lines.all()] == [2]

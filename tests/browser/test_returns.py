"""A line-level return, on screen: the manager announces part of a delivered order coming back with a refund, the
packer scans it in at Returns and writes one line off."""

import pytest

from inventory.models import MoveKind, StockMove
from oms.models import Role
from orders.models import Payment
from shipments.models import CustomerReturn, ReturnState
from shipments.services import routes
from shipments.services.custody import amount_to_collect
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import SYSTEM, stocked_product
from tests.shipments.helpers import handed_to_courier

from .conftest import PHONE, log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_announces_a_line_return_and_the_packer_receives_it(tenant, live_server, page, browser):
    console = watch(page)
    mug, tea = stocked_product(tenant, name="Blue mug", on_hand=20), stocked_product(tenant, name="Tea", on_hand=20)
    order, stop, _ = handed_to_courier(tenant, lines=[(mug, 3), (tea, 1)])
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(amount_to_collect(order)))
    mug_line = order.lines.get(product=mug)

    manager = make_member(tenant, Role.MANAGER)
    log_in(page, live_server.url, manager.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.click("[data-testid=return-items]")
    page.fill(f"input[name=line-{mug_line.pk}]", "2")
    page.fill("input[name=reason]", "chipped on arrival")
    page.check("input[name=refund]")
    page.screenshot(path="/tmp/shot-announce-return.png", full_page=True)
    page.click("[data-testid=announce-return] button[type=submit]")
    page.wait_for_selector(f"text=Return of order {order.number} announced")
    assert CustomerReturn.objects.get(order=order).state == ReturnState.EXPECTED

    packer_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    packer_page = packer_context.new_page()
    packer_console = watch(packer_page)
    packer = make_member(tenant, Role.PACKER)
    log_in(packer_page, live_server.url, packer.username, PASSWORD)
    packer_page.goto(f"{live_server.url}/shipments/returns/?mode=customer")
    packer_page.fill("[data-scan-input]", order.number)
    packer_page.keyboard.press("Enter")
    packer_page.wait_for_selector("[data-testid=receive-return]")
    packer_page.check(f"input[name=write-off-{mug_line.pk}]")
    packer_page.fill(f"input[name=reason-{mug_line.pk}]", "chipped")
    assert_fits(packer_page)
    packer_page.screenshot(path="/tmp/shot-receive-return-phone.png", full_page=True)
    packer_page.click("[data-testid=receive]")
    packer_page.wait_for_selector(f"text=Return of order {order.number} received")
    assert CustomerReturn.objects.get(order=order).state == ReturnState.RECEIVED
    assert StockMove.objects.filter(order_line_id=mug_line.pk, kind=MoveKind.RETURN).get().quantity == 2
    assert Payment.objects.get(order=order, kind="refund").amount == mug_line.price * 2
    packer_console.assert_clean()
    packer_context.close()
    console.assert_clean()

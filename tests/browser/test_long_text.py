"""Text people type may be one long word (a payment reference, a return reason): it wraps, the page stays as wide
as the screen."""

import pytest

from oms.models import Role
from orders.services.payments import record_payment
from shipments.services import returns
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import SYSTEM
from tests.shipments.test_customer_returns import delivered, lines_of

from .conftest import DESKTOP, PHONE, log_in
from .watch import assert_fits, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_long_references_and_reasons_wrap(tenant, live_server, browser, viewport):
    manager = make_member(tenant, Role.MANAGER)
    order = delivered(tenant)
    record_payment(order=order, amount="1.00", method="card", external_id="X" * 100, actor=SYSTEM)
    first, _ = lines_of(order)
    customer_return = returns.announce_return(order=order, quantities={first.pk: 1}, reason="R" * 200, actor=SYSTEM)
    page = browser.new_context(viewport=viewport).new_page()
    log_in(page, live_server.url, manager.username, PASSWORD)
    for path in (f"/orders/{order.pk}/", f"/shipments/returns/{customer_return.pk}/"):
        page.goto(f"{live_server.url}{path}")
        settle(page)
        assert_fits(page, path)
        page.screenshot(path=f"/tmp/shots/long-text-{path.strip('/').replace('/', '-')}-{viewport['width']}.png")

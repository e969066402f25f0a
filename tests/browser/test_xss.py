"""Customer-supplied text is shown as text: script payloads in a name and a comment never run."""

import pytest

from oms.models import Role
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import place_order, stocked_product

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "<script>window.__xss = 'name'</script>Eve"
COMMENT = "<img src=x onerror=\"window.__xss = 'comment'\"><svg onload=\"window.__xss = 'svg'\"></svg>"


def test_script_payloads_in_an_order_never_execute(tenant, live_server, page):
    order = place_order(
        tenant, [(stocked_product(tenant), 1)], customer_name=NAME, comment=COMMENT, delivery_address=COMMENT
    )
    manager = make_member(tenant, Role.MANAGER)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server.url, manager.username, PASSWORD)
    for path in (
        "/orders/",
        f"/orders/{order.pk}/",
        f"/orders/customers/{order.customer_id}/",
        f"/orders/?q={order.number}",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => window.__xss") is None, path
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    assert NAME in page.inner_text("body")  # shown, as text
    assert page.locator("script:not([src])").count() == 0
    assert dialogs == []

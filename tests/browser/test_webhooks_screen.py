"""The webhooks screen on a phone: every event's box is a full-size tap target beside its two-line label."""

import pytest

from oms.models import Role
from tests.factories import PASSWORD, make_member

from .conftest import log_in
from .watch import assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_event_boxes_keep_their_size_on_a_phone(tenant, live_server, phone_page):
    admin = make_member(tenant, Role.ADMIN)
    log_in(phone_page, live_server.url, admin.username, PASSWORD)
    phone_page.goto(f"{live_server.url}/alerts/settings/webhooks/")
    assert_fits(phone_page)
    boxes = phone_page.locator("fieldset.events input[type=checkbox]")
    sizes = [boxes.nth(i).bounding_box() for i in range(boxes.count())]
    assert sizes and all(box["width"] >= 16 and box["height"] >= 16 for box in sizes), sizes
    phone_page.locator("fieldset.events").screenshot(path="/tmp/shots/webhooks-events-390.png")

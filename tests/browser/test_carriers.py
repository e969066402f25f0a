"""An admin edits a carrier from the shipments settings, on a phone-sized screen too."""

import pytest

from oms.models import Role
from shipments.services import config
from tests.factories import PASSWORD, make_member

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_edits_a_carrier(tenant, live_server, phone_page):
    admin = make_member(tenant, Role.ADMIN)
    carrier = config.save_carrier(
        tenant=tenant, kind="own", name="Bike couriers", poll_interval_seconds=900, is_active=True
    )
    page = phone_page
    log_in(page, live_server.url, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/shipments/settings/")
    page.click(f"[data-testid=edit-carrier-{carrier.pk}]")
    page.wait_for_selector("h2:has-text('Edit Bike couriers')")
    assert page.input_value("#carrier-form + form input[name=name]") == "Bike couriers"
    page.fill("#carrier-form + form input[name=poll_interval_seconds]", "1800")
    page.uncheck("#carrier-form + form input[name=is_active]")
    page.click("button:has-text('Save carrier')")
    page.wait_for_selector(".flash:has-text('Carrier saved.')")
    carrier.refresh_from_db()
    assert (carrier.poll_interval_seconds, carrier.is_active) == (1800, False)
    assert "off" in page.inner_text("table")

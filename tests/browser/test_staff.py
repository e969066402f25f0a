"""An owner staffs the shop without a command line: add a packer, change a role, make a link, deactivate."""

import pytest

from oms.models import Membership, Role
from tests.factories import PASSWORD, make_member

from .conftest import log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_adds_changes_and_deactivates_staff(tenant, live_server, page, browser):
    console = watch(page)
    owner = make_member(tenant, Role.OWNER)
    log_in(page, live_server.url, owner.username, PASSWORD)
    page.goto(f"{live_server.url}/settings/")
    page.click("[data-testid=manage-staff]")
    page.fill("input[name=username]", "pat.packer")
    page.fill("input[name=email]", "pat@example.test")
    page.select_option("form[aria-labelledby=add-staff] select[name=role]", "packer")
    page.click("form[aria-labelledby=add-staff] button[type=submit]")
    link = page.inner_text("[data-testid=password-link] code")
    assert "/accounts/reset/" in link

    newcomer = browser.new_context()
    their_page = newcomer.new_page()
    their_page.goto(link)
    their_page.fill("input[name=new_password1]", "Str0ng-pass-99")
    their_page.fill("input[name=new_password2]", "Str0ng-pass-99")
    their_page.click("button[type=submit]")
    their_page.wait_for_selector("text=Password saved")
    log_in(their_page, live_server.url, "pat.packer", "Str0ng-pass-99")
    assert their_page.url.endswith("/shipments/packing/")  # a packer lands at the packing station

    row = page.locator("[data-member='pat.packer']")
    row.locator("select[name=role]").select_option("manager")
    row.locator("button:text('Save')").click()
    page.wait_for_selector("text=pat.packer is now Manager")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-member='pat.packer'] button:text('Deactivate')").click()
    page.wait_for_selector("[data-member='pat.packer'] .badge:text('deactivated')")
    assert not Membership.objects.get(user__username="pat.packer").is_active
    their_page.goto(f"{live_server.url}/orders/")
    assert "/accounts/login/" in their_page.url  # signed out at once
    newcomer.close()
    page.goto(f"{live_server.url}/settings/staff/audit/")
    audit = page.inner_text("table")
    assert "Added as Packer" in audit and "Role Packer → Manager" in audit and "Deactivated" in audit
    assert_fits(page)
    console.assert_clean()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_person_who_also_works_elsewhere_shows_no_email_and_no_password_link(
    tenant, other_tenant, live_server, page, width
):
    page.set_viewport_size({"width": width, "height": 900})
    console = watch(page)
    shared = make_member(other_tenant, Role.OWNER, username="erin.b", email="erin@shop-b.example")
    Membership.objects.create(tenant=tenant, user=shared, role=Role.PACKER)
    make_member(tenant, Role.PACKER, username="frank.a", email="frank@shop-a.example")
    admin = make_member(tenant, Role.ADMIN)
    log_in(page, live_server.url, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/settings/staff/")
    shared_row, own_row = page.locator("[data-member='erin.b']"), page.locator("[data-member='frank.a']")
    assert "Keeps their own login" in shared_row.inner_text() and "erin@shop-b.example" not in page.content()
    assert shared_row.locator("button:text('Password link')").count() == 0
    deactivate = own_row.locator("button:text('Deactivate')").bounding_box()
    assert deactivate["x"] + deactivate["width"] <= width  # on a phone too, not cut off at the edge
    own_row.locator("button:text('Password link')").click()
    assert "/accounts/reset/" in page.inner_text("[data-testid=password-link] code")
    page.screenshot(path=f"/tmp/shots/staff-shared-{width}.png", full_page=True)
    assert_fits(page)
    page.click("[data-testid=email-link]")
    page.wait_for_selector("text=is on its way to frank@shop-a.example")
    assert_fits(page)
    console.assert_clean()

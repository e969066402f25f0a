"""Long work from a page: the owner's export and the analytics rebuild run in the background, the page shows their
progress and offers the result when ready."""

import io
import zipfile

import pytest

from oms.models import Role
from tests.factories import PASSWORD, make_member
from tests.orders.helpers import place_order, stocked_product

from .conftest import PHONE, log_in
from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_prepares_an_export_and_downloads_it(tenant, live_server, page):
    console = watch(page)
    place_order(tenant, [(stocked_product(tenant), 1)], customer_name="Ann Export")
    owner = make_member(tenant, Role.OWNER)
    log_in(page, live_server.url, owner.username, PASSWORD)
    page.goto(f"{live_server.url}/settings/")
    page.click("[data-testid=export]")
    page.wait_for_selector("[data-testid=job][data-state=done]")  # polled until the task finished
    assert "rows from" in page.inner_text("#export-job")
    with page.expect_download() as download:
        page.click("[data-testid=job-download]")
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))  # noqa: SIM115
    assert "Ann Export" in archive.read("orders_customer.csv").decode()
    page.screenshot(path="/tmp/shot-export-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_selector("[data-testid=job][data-state=done]")
    assert_fits(page)
    page.screenshot(path="/tmp/shot-export-phone.png", full_page=True)
    console.assert_clean()


def test_owner_rebuilds_the_summaries_and_sees_it_done(tenant, live_server, page):
    console = watch(page)
    owner = make_member(tenant, Role.OWNER)
    log_in(page, live_server.url, owner.username, PASSWORD)
    page.goto(f"{live_server.url}/analytics/settings/")
    page.click("[data-testid=rebuild]")
    page.wait_for_selector("#rebuild-job [data-testid=job][data-state=done]")
    assert "Summaries rebuilt" in page.inner_text("#rebuild-job")
    page.wait_for_function("() => document.querySelector('[data-testid=refreshed-at]').innerText !== 'not yet'")
    page.screenshot(path="/tmp/shot-rebuild-desktop.png", full_page=True)
    assert_fits(page)
    console.assert_clean()

"""The customer's tracking page of a split family says what ships now and what follows, with the date."""

import datetime

import pytest
from django.utils import timezone

from inventory import purchasing
from notifications.services.tracking import tracking_path
from orders.services import families
from orders.services.reservations import reserve_order
from tests.factories import WarehouseFactory
from tests.orders.helpers import SYSTEM, move, place_order, stocked_product

from .watch import assert_fits, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_split_familys_tracking_pages_show_both_parts_with_dates(tenant, live_server, phone_page):
    page = phone_page
    console = watch(page)
    WarehouseFactory(tenant=tenant, code="MAIN")
    tea = stocked_product(tenant, sku="TEA", on_hand=0, name="Earl Grey tin")
    mug = stocked_product(tenant, sku="MUG", on_hand=3, name="Logo mug")
    parent = move(place_order(tenant, [(mug, 1), (tea, 2)]), "confirmed")
    reserve_order(order=parent, actor=SYSTEM)
    child = families.split_unavailable(order=parent, actor=SYSTEM)
    expected = timezone.localdate() + datetime.timedelta(days=9)
    purchasing.create_purchase_order(
        tenant=tenant,
        supplier="Tea Co",
        warehouse_code="MAIN",
        expected_at=expected,
        lines=[purchasing.PurchaseLine("TEA", 10)],
    )
    date_text = f"{expected.day} {expected:%b %Y}"

    page.goto(live_server.url + tracking_path(parent))
    assert "1 × Logo mug" in page.inner_text("main")
    follows = page.inner_text("[data-testid=follows]")
    assert f"Order {child.number}" in follows and "2 × Earl Grey tin" in follows and date_text in follows
    assert_fits(page)

    page.goto(live_server.url + tracking_path(child))
    assert date_text in page.inner_text("[data-testid=this-parcel]")
    assert "2 × Earl Grey tin" in page.inner_text("main")
    console.assert_clean()

"""Order entry as managers expect: pick products by name, SKU or barcode in any case, see stock, step quantities."""

import pytest
from django.urls import reverse

from orders.models import Order

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db
BASE = {"customer_name": "Ann", "payment_status": "unpaid"}


def test_picked_lines_make_the_order(tenant, client_for):
    mug = stocked_product(tenant, sku="MUG-LOGO", on_hand=5)
    cap = stocked_product(tenant, sku="CAP-RED", on_hand=5)
    response = client_for().post(
        reverse("orders:new"), {**BASE, "line_sku": ["MUG-LOGO", "CAP-RED"], "line_qty": ["2", "1"]}
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert sorted((ln.product_id, ln.quantity) for ln in order.lines.all()) == sorted([(mug.pk, 2), (cap.pk, 1)])


def test_typed_lines_take_a_sku_in_any_case_or_a_barcode(tenant, client_for):
    mug = stocked_product(tenant, sku="MUG-LOGO", barcode="4600000000011")
    client_for().post(reverse("orders:new"), {**BASE, "lines": "mug-logo 2\n4600000000011 1"})
    assert sorted(ln.quantity for ln in Order.objects.get().lines.all() if ln.product_id == mug.pk) == [1, 2]


def test_a_bad_quantity_in_picked_lines_is_refused_and_the_lines_stay(tenant, client_for):
    stocked_product(tenant, sku="MUG-LOGO", on_hand=3)
    response = client_for().post(reverse("orders:new"), {**BASE, "line_sku": ["MUG-LOGO"], "line_qty": ["0"]})
    page = response.content.decode()
    assert response.status_code == 200 and "quantity must be between 1" in page
    assert 'data-sku="MUG-LOGO"' in page  # the picked line is shown again, with its stock
    assert not Order.objects.exists()


def test_nothing_picked_or_typed_asks_for_a_product(tenant, client_for):
    response = client_for().post(reverse("orders:new"), BASE)
    assert "Add at least one product." in response.content.decode()


def test_search_by_name_sku_or_barcode_in_any_case_shows_available_stock(tenant, client_for):
    stocked_product(tenant, sku="MUG-LOGO", name="Mug with logo", barcode="4600000000011", on_hand=7)
    client = client_for()
    for query in ["mug with", "mug-lo", "4600000000011"]:
        html = client.get(reverse("orders:product_search"), {"q": query, "pick": "1"}).content.decode()
        assert 'data-sku="MUG-LOGO"' in html and "7 available" in html, query


def test_the_order_page_adds_a_line_by_a_sku_in_any_case(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    extra = stocked_product(tenant, sku="CAP-RED")
    client_for().post(reverse("orders:add_line", args=[order.pk]), {"code": "cap-red", "quantity": 1})
    assert order.lines.filter(product=extra).exists()


def test_search_is_for_office_roles_only(tenant, client_for):
    from oms.models import Role

    assert client_for(Role.PACKER).get(reverse("orders:product_search"), {"q": "mug", "pick": "1"}).status_code == 403


def test_the_channel_offers_the_usual_ones_and_the_matrix_ones(tenant, client_for):
    from orders.models import OrderStatus, StatusTransition

    new, confirmed = (OrderStatus.objects.get(tenant=tenant, code=c) for c in ("new", "confirmed"))
    StatusTransition.objects.create(tenant=tenant, channel="instagram", from_status=new, to_status=confirmed)
    page = client_for().get(reverse("orders:new")).content.decode()
    assert 'list="channel-options"' in page
    assert '<option value="instagram">' in page and '<option value="marketplace">' in page


def test_an_email_longer_than_a_contact_holds_is_refused_on_the_forms_not_a_500(tenant, client_for):
    # A valid address of 215 characters: contacts keep at most 200, as the API's customer.email does.
    email = "a" * 150 + "@" + "b" * 60 + ".com"
    product = stocked_product(tenant, sku="MUG-LOGO")
    client = client_for()
    response = client.post(reverse("orders:new"), {**BASE, "customer_email": email, "lines": "MUG-LOGO 1"})
    assert response.status_code == 200 and not Order.objects.exists()
    customer = place_order(tenant, [(product, 1)]).customer
    response = client.post(reverse("orders:customer", args=[customer.pk]), {"name": "Ann", "email": email})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email == ""

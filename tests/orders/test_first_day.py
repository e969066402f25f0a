"""The order page as a first day of use found it: labels that repeat or mislead."""

import re

import pytest
from django.urls import reverse

from orders.models import Order
from orders.services.families import copy_order

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db


def _header(page: str) -> str:
    return re.search(r"<h1>Order.*?</h1>", page, re.S).group(0)


def test_the_header_does_not_repeat_a_status_named_like_its_group(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    header = _header(client_for().get(reverse("orders:detail", args=[order.pk])).content.decode())
    assert header.count(">New<") == 1


def test_a_child_order_is_this_order_in_its_family_not_a_sibling(tenant, client_for):
    root = place_order(tenant, [(stocked_product(tenant), 2)])
    child = copy_order(order=root, actor=SYSTEM)
    page = client_for().get(reverse("orders:detail", args=[child.pk])).content.decode()
    family = page[page.index('aria-label="Family"') :]
    assert "this order" in family and "sibling" not in family and "parent" in family
    assert Order.objects.filter(root_id=root.pk).count() == 2


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_bulk_status_change_comes_without_a_preset_status(tenant, client_for):
    place_order(tenant, [(stocked_product(tenant), 1)])
    page = client_for().get(reverse("orders:list")).content.decode()
    select = re.search(r'<select name="to".*?</select>', page, re.S).group(0)
    assert "required" in select and '<option value="" selected>' in select


def test_bulk_status_change_without_a_status_asks_for_one_and_moves_nothing(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    response = client_for().post(reverse("orders:bulk_status"), {"orders": [order.pk], "to": ""}, **HTMX)
    assert "Choose the status" in response.content.decode()
    order.refresh_from_db()
    assert order.status.code == "new"


def test_bulk_status_results_name_the_status(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    page = client_for().post(reverse("orders:bulk_status"), {"orders": [order.pk], "to": "confirmed"}, **HTMX)
    assert "moved to “Confirmed”" in page.content.decode()

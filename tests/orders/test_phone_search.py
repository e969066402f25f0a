"""Phone search finds a number by any run of five or more of its digits, however it is typed, on an index."""

import pytest
from django.urls import reverse

from oms.models import Role
from orders import selectors

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(tenant):
    return place_order(tenant, [(stocked_product(tenant), 1)], customer_name="Ann", customer_phone="+7 911 555-12-34")


@pytest.fixture
def bob(tenant):
    return place_order(tenant, [(stocked_product(tenant), 1)], customer_name="Bob", customer_phone="+7 922 000-98-76")


@pytest.mark.parametrize("typed", ["+7 911 555-12-34", "555-12-34", "9115551234", "8 (911) 555 12 34", "55512"])
def test_any_run_of_five_digits_finds_the_order(tenant, ann, bob, client_for, typed):
    page = client_for(Role.MANAGER).get(reverse("orders:list"), {"q": typed}).content.decode()
    assert ann.number in page and bob.number not in page


@pytest.mark.parametrize("typed", ["5551", "911 55x", "١٢٣٤٥٦"])
def test_too_few_digits_or_letters_search_no_phone(tenant, ann, typed):
    assert selectors.searchable_digits(typed) == ""


def test_customer_list_finds_by_part_of_the_number(tenant, ann, bob, client_for):
    page = client_for(Role.MANAGER).get(reverse("orders:customers"), {"q": "0009876"}).content.decode()
    assert "Bob" in page and "Ann" not in page

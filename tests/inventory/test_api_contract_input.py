"""Purchasing input the contract does not allow is refused with 422 `invalid` and writes nothing: a date is an ISO
date string, a cost a decimal string (API.md "General")."""

import json

import pytest

from inventory.models import PurchaseOrder
from tests.factories import WarehouseFactory
from tests.orders.helpers import stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def tea(tenant):
    WarehouseFactory(tenant=tenant, code="MAIN")
    return stocked_product(tenant, sku="TEA", on_hand=0, price="5.00")


def make_po(api_client, **extra):
    body = {"supplier": "Tea Co", "warehouse": "MAIN", "lines": [{"sku": "TEA", "quantity": 10}], **extra}
    return api_client.post("/api/v1/purchase-orders", data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "expected_at", [0, 1_700_000_000, "0", "1700000000", True, "2026-02-30", "2026-1-5", "20261231", "２０２６-01-31"]
)
def test_an_expected_date_that_is_not_an_iso_date_string_is_refused_with_422(tenant, api_client, tea, expected_at):
    response = make_po(api_client, expected_at=expected_at)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "expected_at" in json.dumps(error)
    assert not PurchaseOrder.objects.exists()


def test_an_iso_date_string_is_taken(tenant, api_client, tea):
    response = make_po(api_client, expected_at="2099-12-20")
    assert response.status_code == 201, response.content
    assert response.json()["expected_at"] == "2099-12-20"


@pytest.mark.parametrize("cost", [2.5, True, "2_50", "２.５０", "25e-1"])
def test_a_cost_that_is_not_a_decimal_string_is_refused_with_422(tenant, api_client, tea, cost):
    response = make_po(api_client, lines=[{"sku": "TEA", "quantity": 10, "cost": cost}])
    assert response.status_code == 422, response.content
    assert "lines.0.cost" in json.dumps(response.json()["error"])
    assert not PurchaseOrder.objects.exists()


def test_a_line_given_as_anything_but_an_object_is_refused_with_422(tenant, api_client, tea):
    response = make_po(api_client, lines=["TEA"])
    assert response.status_code == 422, response.content
    assert not PurchaseOrder.objects.exists()

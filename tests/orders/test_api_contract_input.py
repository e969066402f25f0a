"""Input the contract does not allow is refused with 422 `invalid` and writes nothing (API.md "General": money is a
decimal string with two places, never a partial write), and a paid total the column cannot hold is a refusal, not a
database error."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import Product
from oms.models import Role
from orders.errors import InvalidPayment
from orders.models import Customer, Order, OrderActivity, Payment
from orders.services import payments

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db

LARGEST = "999999999999.99"  # what Order.paid (numeric(14, 2)) holds at most


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def an_order(tenant):
    return place_order(tenant, [(stocked_product(tenant, price="10.00"), 1)])


def assert_invalid(response, field=None):
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid", error
    if field is not None:
        assert field in json.dumps(error), error
    return error


# --- the paid total stays within its column ------------------------------------------------------------------


def test_a_payment_that_would_overflow_what_is_paid_is_refused_with_422_and_writes_nothing(tenant, api_client):
    order = an_order(tenant)
    path = f"/api/v1/orders/{order.pk}/payments"
    assert post(api_client, path, {"amount": LARGEST, "method": "card"}).status_code == 201
    response = post(api_client, path, {"amount": "1.00", "method": "card"}, HTTP_IDEMPOTENCY_KEY="over-1")
    error = assert_invalid(response, "amount")
    assert "more than an order can hold" in error["message"] and "999,999,999,999.99" in error["message"]
    order.refresh_from_db()
    assert order.paid == Decimal(LARGEST)
    assert Payment.objects.filter(order=order).count() == 1
    assert OrderActivity.objects.filter(order=order, kind="payment").count() == 1
    # nothing was kept for the key either: the same key with a payment that fits is a first request, not a replay
    assert post(api_client, path, {"amount": "1.00", "method": "card", "kind": "refund"}).status_code == 201
    again = post(api_client, path, {"amount": "1.00", "method": "card"}, HTTP_IDEMPOTENCY_KEY="over-1")
    assert again.status_code == 201, again.content


def test_a_payment_bringing_the_paid_total_to_exactly_the_largest_sum_is_taken(tenant, api_client):
    order = an_order(tenant)
    path = f"/api/v1/orders/{order.pk}/payments"
    assert post(api_client, path, {"amount": "999999999998.99", "method": "card"}).status_code == 201
    assert post(api_client, path, {"amount": "1.00", "method": "card"}).status_code == 201
    order.refresh_from_db()
    assert order.paid == Decimal(LARGEST)


def test_every_path_that_records_a_payment_is_refused_before_the_paid_total_overflows(tenant):
    """The service is shared (API, order page, cash on delivery with the order already locked): it refuses."""
    order = an_order(tenant)
    payments.record_payment(order=order, amount=LARGEST, method="card", actor=SYSTEM)
    order.refresh_from_db()
    for locked in (False, True):
        with pytest.raises(InvalidPayment, match="more than an order can hold"):
            payments.record_payment(order=order, amount="0.01", method=Payment.COD, actor=SYSTEM, locked=locked)
    assert Payment.objects.filter(order=order).count() == 1


def test_the_order_page_refuses_a_payment_that_would_overflow_what_is_paid(tenant, client_for):
    order = an_order(tenant)
    payments.record_payment(order=order, amount=LARGEST, method="card", actor=SYSTEM)
    manager = client_for(Role.MANAGER)
    url = reverse("orders:add_payment", args=[order.pk])
    payment = {"kind": "payment", "amount": "1.00", "method": "cash", "over_due": "1.00"}  # more than due, confirmed
    page = manager.post(url, payment, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and "more than an order can hold" in page.content.decode()
    assert Payment.objects.filter(order=order).count() == 1


# --- payment amounts: a decimal string, nothing else -----------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        True,
        10,
        10.5,
        "1_000",
        "１０.００",
        "1e2",
        "10.",
        ".5",
        " 10.00",
        "10.00 ",
        "10.001",
        "+10.00",
        "٣",
        "NaN",
        None,
    ],
)
def test_an_amount_that_is_not_a_decimal_string_is_refused_with_422(tenant, api_client, amount):
    order = an_order(tenant)
    response = post(api_client, f"/api/v1/orders/{order.pk}/payments", {"amount": amount, "method": "card"})
    assert_invalid(response, "amount")
    assert not Payment.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    ("amount", "stored"), [("10.00", "10.00"), ("10", "10.00"), ("19.9", "19.90"), ("0.01", "0.01")]
)
def test_decimal_string_amounts_are_taken(tenant, api_client, amount, stored):
    order = an_order(tenant)
    response = post(api_client, f"/api/v1/orders/{order.pk}/payments", {"amount": amount, "method": "card"})
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == stored


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_an_amount_of_zero_or_less_is_refused_with_422(tenant, api_client, amount):
    order = an_order(tenant)
    response = post(api_client, f"/api/v1/orders/{order.pk}/payments", {"amount": amount, "method": "card"})
    assert_invalid(response)
    assert not Payment.objects.filter(order=order).exists()


# --- line prices and product prices follow the same rule --------------------------------------------------------


@pytest.mark.parametrize("price", [True, 10, 10.5, "1_000", "１０.００", "1e2", "10.001"])
def test_a_line_price_that_is_not_a_decimal_string_is_refused_with_422(tenant, api_client, price):
    product = stocked_product(tenant)
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, "quantity": 1, "price": price}]}
    assert_invalid(post(api_client, "/api/v1/orders", body), "lines.0.price")
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_a_line_price_as_a_decimal_string_is_taken(tenant, api_client):
    product = stocked_product(tenant)
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, "quantity": 2, "price": "19.90"}]}
    response = post(api_client, "/api/v1/orders", body)
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "39.80"


@pytest.mark.parametrize("price", [True, 5, 5.5, "1_000", "１０.００", "5e0"])
def test_a_product_price_that_is_not_a_decimal_string_is_refused_with_422(tenant, api_client, price):
    response = post(api_client, "/api/v1/products", {"sku": "P-1", "name": "Pen", "price": price})
    assert_invalid(response, "price")
    assert not Product.objects.filter(tenant=tenant).exists()


def test_the_openapi_document_describes_money_as_a_decimal_string(api_client):
    schemas = api_client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for schema, field in [("PaymentRecordIn", "amount"), ("ProductIn", "price")]:
        described = schemas[schema]["properties"][field]
        assert described["type"] == "string" and described["pattern"] == r"^-?[0-9]+(\.[0-9]{1,2})?$", described


# --- objects are objects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payment", "paid"),
        ("payment", [None, None]),
        ("payment", 1),
        ("payment", True),
        ("delivery", "courier"),
        ("delivery", []),
        ("customer", "Ann"),
    ],
)
def test_a_nested_object_given_as_anything_else_is_refused_with_422(tenant, api_client, field, value):
    product = stocked_product(tenant)
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, "quantity": 1}], field: value}
    assert_invalid(post(api_client, "/api/v1/orders", body), field)
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_a_line_given_as_anything_but_an_object_is_refused_with_422(tenant, api_client):
    stocked_product(tenant)
    body = {"customer": {"name": "Ann"}, "lines": ["SKU-1"]}
    assert_invalid(post(api_client, "/api/v1/orders", body), "lines.0")
    assert not Order.objects.exists()


def test_a_body_that_is_not_an_object_is_refused_with_422(tenant, api_client):
    assert_invalid(post(api_client, "/api/v1/orders", ["customer", "lines"]))
    assert not Order.objects.exists()


def test_payment_as_an_object_or_absent_is_taken(tenant, api_client):
    product = stocked_product(tenant, price="19.90")
    lines = [{"sku": product.sku, "quantity": 1}]
    paid = post(
        api_client, "/api/v1/orders", {"customer": {"name": "Ann"}, "lines": lines, "payment": {"status": "paid"}}
    )
    assert paid.status_code == 201 and paid.json()["payment"]["status"] == "paid", paid.content
    plain = post(api_client, "/api/v1/orders", {"customer": {"name": "Ann"}, "lines": lines})
    assert plain.status_code == 201 and plain.json()["payment"]["status"] == "unpaid", plain.content

"""Input no column can hold is refused with a clear answer and changes nothing: a NUL in a header or a JSON body,
a NUL inside an uploaded CSV, a time past the calendar's end."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import Product
from oms.models import IdempotencyKey, Role
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(api_client):
    r = api_client.post(
        "/api/v1/products", json.dumps({"sku": "S1", "name": "S1", "price": "5.00"}), content_type="application/json"
    )
    assert r.status_code == 201


def _order_body(name="C"):
    return json.dumps({"customer": {"name": name}, "lines": [{"sku": "S1", "quantity": 1}]})


def test_a_nul_in_the_idempotency_key_is_refused_and_creates_nothing(api_client, product):
    r = api_client.post(
        "/api/v1/orders", _order_body(), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k\x00ey"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid" and "NUL" in r.json()["error"]["message"]
    assert not Order.objects.exists() and not IdempotencyKey.objects.exists()


def test_a_nul_escaped_in_a_json_body_is_refused_and_creates_nothing(api_client, product):
    r = api_client.post("/api/v1/orders", _order_body("Ann\x00e"), content_type="application/json")
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"]
    assert not Order.objects.exists()


def test_a_json_body_naming_the_escape_as_text_is_taken(api_client, product):
    r = api_client.post("/api/v1/orders", _order_body("Ann \\u0000 literally"), content_type="application/json")
    assert r.status_code == 201 and r.json()["customer"]["name"] == "Ann \\u0000 literally"


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_an_updated_since_past_the_calendar_is_refused(api_client, since):
    r = api_client.get("/api/v1/orders", {"updated_since": since})
    assert r.status_code == 422 and "updated_since" in r.json()["error"]["message"]


def test_an_uploaded_csv_with_a_nul_is_refused_and_imports_nothing(client_for):
    upload = SimpleUploadedFile("p.csv", b"sku,name,price,barcode\nA\x00B,Thing,1.00,\n", content_type="text/csv")
    r = client_for(Role.ADMIN).post("/inventory/import/", {"file": upload})
    assert r.status_code == 200 and "NUL characters" in r.content.decode()
    assert not Product.objects.exists()

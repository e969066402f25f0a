import json
import threading

import pytest
from django.db import connections
from django.test import Client

from inventory.models import Product
from orders.models import Customer, Order

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def order_body(*skus, **extra):
    return {
        "customer": {"name": "Ann", "phone": "+7 (900) 111-22-33"},
        "lines": [{"sku": sku, "quantity": 1} for sku in skus],
        **extra,
    }


def test_create_order_returns_the_contract_representation(tenant, api_client):
    product = stocked_product(tenant, price="19.90")
    response = post(
        api_client,
        "/api/v1/orders",
        order_body(
            product.sku,
            external_id="shop-1",
            channel="web",
            payment={"method": "card", "status": "paid"},
            delivery={"method": "courier", "address": "Main 1"},
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {
        "id",
        "number",
        "parent_id",
        "root_id",
        "channel",
        "external_id",
        "status",
        "customer",
        "lines",
        "total",
        "payment",
        "delivery",
        "created_at",
        "updated_at",
    }
    assert body["status"] == {"code": "new", "name": "New", "group": "new"}
    assert body["total"] == "19.90" and body["lines"][0]["price"] == "19.90" and body["lines"][0]["reserved"] == 0
    assert body["root_id"] == body["id"] and body["parent_id"] is None
    assert body["payment"] == {"method": "card", "status": "paid", "paid": "19.90", "due": "0.00"}
    assert body["tracking_url"].startswith("http") and "/track/" in body["tracking_url"]
    assert "+" in body["created_at"] or body["created_at"].endswith("Z")


@pytest.mark.parametrize(
    "lines,code",
    [
        ([{"sku": "NOPE", "quantity": 1}], "unknown_sku"),
        ([{"sku": "X", "quantity": 0}], "invalid"),
        ([], "invalid"),
        ([{"sku": "X", "quantity": 1, "price": "-1"}], "invalid"),
        ([{"sku": "X", "quantity": 1, "price": "abc"}], "invalid"),
    ],
)
def test_bad_orders_are_refused_with_422_and_write_nothing(tenant, api_client, lines, code):
    stocked_product(tenant, sku="X")
    response = post(api_client, "/api/v1/orders", {"customer": {"name": "Ann"}, "lines": lines})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert Order.objects.count() == 0


def test_malformed_json_is_a_clear_error(api_client):
    response = api_client.post("/api/v1/orders", data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_idempotency_key_replays_the_first_answer(tenant, api_client):
    product = stocked_product(tenant)
    first = post(api_client, "/api/v1/orders", order_body(product.sku), HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(api_client, "/api/v1/orders", order_body(product.sku), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1
    other = post(api_client, "/api/v1/orders", order_body(product.sku, comment="different"), HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_with_one_key_create_one_order(tenant):
    from oms.services import create_api_token

    product = stocked_product(tenant)
    _, raw = create_api_token(tenant=tenant)
    answers = []

    def send():
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
            answers.append(post(client, "/api/v1/orders", order_body(product.sku), HTTP_IDEMPOTENCY_KEY="same"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert Order.objects.filter(tenant=tenant).count() == 1


def test_external_id_is_unique_per_channel(tenant, api_client):
    product = stocked_product(tenant)
    assert post(api_client, "/api/v1/orders", order_body(product.sku, external_id="e1")).status_code == 201
    second = post(api_client, "/api/v1/orders", order_body(product.sku, external_id="e1"))
    assert second.status_code == 409 and second.json()["error"]["code"] == "duplicate_external_id"
    other_channel = post(api_client, "/api/v1/orders", order_body(product.sku, external_id="e1", channel="marketplace"))
    assert other_channel.status_code == 201


def test_customer_is_matched_by_phone_then_email(tenant, api_client):
    product = stocked_product(tenant)
    first = post(
        api_client,
        "/api/v1/orders",
        {
            "customer": {"name": "Ann", "phone": "8 (900) 111-22-33", "email": "Ann@Example.com"},
            "lines": [{"sku": product.sku, "quantity": 1}],
        },
    ).json()
    by_phone = post(
        api_client,
        "/api/v1/orders",
        {"customer": {"name": "A.", "phone": "+7 900 111 22 33"}, "lines": [{"sku": product.sku, "quantity": 1}]},
    ).json()
    by_email = post(
        api_client,
        "/api/v1/orders",
        {"customer": {"name": "Anna", "email": "ann@example.com "}, "lines": [{"sku": product.sku, "quantity": 1}]},
    ).json()
    stranger = post(
        api_client,
        "/api/v1/orders",
        {"customer": {"name": "Bob", "phone": "+7 900 999 00 00"}, "lines": [{"sku": product.sku, "quantity": 1}]},
    ).json()
    assert first["customer"]["id"] == by_phone["customer"]["id"] == by_email["customer"]["id"]
    assert stranger["customer"]["id"] != first["customer"]["id"]


def test_get_list_and_filters(tenant, api_client):
    product = stocked_product(tenant)
    a = place_order(tenant, [(product, 1)])
    place_order(tenant, [(product, 1)], channel="marketplace")
    assert api_client.get(f"/api/v1/orders/{a.pk}").json()["number"] == a.number
    listing = api_client.get("/api/v1/orders?page_size=1").json()
    assert listing["count"] == 2 and len(listing["results"]) == 1 and listing["next"]
    assert api_client.get(f"/api/v1/orders?root_id={a.pk}").json()["count"] == 1
    assert api_client.get("/api/v1/orders?group=new&status=new").json()["count"] == 2
    assert api_client.get("/api/v1/orders?updated_since=2000-01-01T00:00:00%2B00:00").json()["count"] == 2
    assert api_client.get("/api/v1/orders?page_size=500").status_code == 422
    assert api_client.get("/api/v1/orders?group=bogus").status_code == 422


def test_foreign_and_missing_orders_are_404(tenant, other_tenant, api_client, other_api_client):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    for path in ("", "/history"):
        assert other_api_client.get(f"/api/v1/orders/{order.pk}{path}").status_code == 404
    for path, body in (("/transition", {"to": "confirmed"}), ("/reserve", {}), ("/split", {"mode": "copy"})):
        assert post(other_api_client, f"/api/v1/orders/{order.pk}{path}", body).status_code == 404
    assert api_client.get("/api/v1/orders/999999").json()["error"]["code"] == "not_found"
    for order_id, to in ((order.pk, "no-such-status"), (2**63, "confirmed"), (2**70, "confirmed")):
        missing = post(other_api_client, f"/api/v1/orders/{order_id}/transition", {"to": to})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert other_api_client.get("/api/v1/orders").json()["count"] == 0


def test_transition_errors_follow_the_contract(tenant, api_client):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 1)])
    refused = post(api_client, f"/api/v1/orders/{order.pk}/transition", {"to": "delivered"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "transition_not_allowed"
    assert (
        post(api_client, f"/api/v1/orders/{order.pk}/transition", {"to": "confirmed"}).json()["status"]["code"]
        == "confirmed"
    )
    for to, says in (("no-such-status", "There is no active status"), ("confirmed", "already")):
        refused = post(api_client, f"/api/v1/orders/{order.pk}/transition", {"to": to})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "transition_not_allowed"
        assert says in refused.json()["error"]["message"]
    blocked = post(api_client, f"/api/v1/orders/{order.pk}/transition", {"to": "assembling"})
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "transition_blocked"
    assert blocked.json()["error"]["details"]["reasons"]


def test_reserve_split_and_history_through_the_api(tenant, api_client):
    product = stocked_product(tenant, on_hand=1)
    order = place_order(tenant, [(product, 3)])
    reserved = post(api_client, f"/api/v1/orders/{order.pk}/reserve", {}).json()
    assert reserved["lines"][0]["reserved"] == 1
    child = post(api_client, f"/api/v1/orders/{order.pk}/split", {"mode": "unavailable"})
    assert child.status_code == 201
    assert child.json()["parent_id"] == order.pk and child.json()["status"]["code"] == "awaiting-stock"
    again = post(api_client, f"/api/v1/orders/{order.pk}/split", {"mode": "unavailable"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_split"
    copy = post(api_client, f"/api/v1/orders/{order.pk}/split", {"mode": "copy"})
    assert copy.status_code == 201 and copy.json()["parent_id"] == order.pk
    history = api_client.get(f"/api/v1/orders/{order.pk}/history").json()["results"]
    kinds = [entry["kind"] for entry in history]
    assert kinds[0] == "created" and "reserved" in kinds and "split" in kinds and "copied" in kinds
    assert all(entry["actor"] == "api:tests" for entry in history[1:])
    assert history == sorted(history, key=lambda e: e["at"])


def test_split_modes_are_validated(tenant, api_client):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    assert post(api_client, f"/api/v1/orders/{order.pk}/split", {"mode": "halves"}).status_code == 422
    assert post(api_client, f"/api/v1/orders/{order.pk}/split", {"mode": "copy", "lines": [0]}).status_code in (
        409,
        422,
    )


def test_history_shows_user_actor_for_screen_actions(tenant, client_for, api_client):
    order = place_order(tenant, [(stocked_product(tenant), 1)], actor=SYSTEM)
    manager = client_for()
    manager.post(f"/orders/{order.pk}/status/", {"to": "confirmed"})
    entry = api_client.get(f"/api/v1/orders/{order.pk}/history").json()["results"][-1]
    assert entry["kind"] == "status_changed" and entry["actor"].startswith("user")


def test_nul_characters_are_refused_not_crashed_on(tenant, api_client):
    response = post(
        api_client, "/api/v1/stock/receipts", {"warehouse": "A\u0000", "lines": [{"sku": "x", "quantity": 1}]}
    )
    assert response.status_code in (400, 422) and "error" in response.json()
    query = api_client.get("/api/v1/orders?status=a%00b")
    assert query.status_code in (400, 422) and "error" in query.json()


# --- numbers too large for the database ---------------------------------------------------------------------

BIGGEST_PRICE = "9999999999.99"


def assert_refused_and_nothing_written(response, tenant, mentions):
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    text = json.dumps(error)
    assert all(word in text for word in mentions), text
    assert not Order.objects.filter(tenant=tenant).exists()
    assert not Customer.objects.filter(tenant=tenant).exists()


def test_an_order_whose_line_total_overflows_is_refused_with_422(tenant, api_client):
    product = stocked_product(tenant)
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, "quantity": 100_000, "price": BIGGEST_PRICE}]}
    response = post(api_client, "/api/v1/orders", body)
    assert_refused_and_nothing_written(response, tenant, ["order total would be", "999,999,999,999.99"])


def test_an_order_whose_lines_add_up_past_the_largest_total_is_refused_with_422(tenant, api_client):
    product = stocked_product(tenant)
    lines = [{"sku": product.sku, "quantity": 100, "price": BIGGEST_PRICE}] * 2  # each fits, the sum does not
    response = post(api_client, "/api/v1/orders", {"customer": {"name": "Ann"}, "lines": lines})
    assert_refused_and_nothing_written(response, tenant, ["order total would be"])


def test_an_order_at_catalogue_prices_past_the_largest_total_is_refused_with_422(tenant, api_client):
    product = stocked_product(tenant, price=BIGGEST_PRICE)
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, "quantity": 101}]}
    response = post(api_client, "/api/v1/orders", body)
    assert_refused_and_nothing_written(response, tenant, ["order total would be"])


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": 1_000_000, "price": "99999999999999.99"}, "lines.0.price"),
        ({"quantity": 2**40}, "lines.0.quantity"),
        ({"quantity": 2**64, "price": "1.00"}, "lines.0.quantity"),
        ({"quantity": 1, "price": "1e400"}, "lines.0.price"),
    ],
)
def test_prices_and_quantities_beyond_the_columns_are_refused_with_422(tenant, api_client, line, field):
    product = stocked_product(tenant)
    response = post(
        api_client, "/api/v1/orders", {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, **line}]}
    )
    assert_refused_and_nothing_written(response, tenant, [field])


def test_an_order_of_exactly_the_largest_line_sum_that_fits_is_taken(tenant, api_client):
    product = stocked_product(tenant)
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": product.sku, "quantity": 100, "price": BIGGEST_PRICE}]}
    response = post(api_client, "/api/v1/orders", body)
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "999999999999.00"


@pytest.mark.parametrize("price", ["99999999999999.99", "1e400", "NaN"])
def test_a_product_priced_beyond_the_column_is_refused_with_422(tenant, api_client, price):
    response = post(api_client, "/api/v1/products", {"sku": "BIG-1", "name": "Big", "price": price})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert not Product.objects.filter(tenant=tenant).exists()

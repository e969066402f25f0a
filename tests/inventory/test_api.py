import json

import pytest

from inventory.models import MoveKind, Product, StockMove, Warehouse

from .helpers import level, product, snapshot, stocked, warehouse

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def error_code(response):
    return response.json()["error"]["code"]


# --- products --------------------------------------------------------------------------------------------------


def test_create_product_returns_201_in_the_contract_shape(tenant, api_client):
    response = post(api_client, "/api/v1/products", {"sku": "TEE-1", "name": "Tee", "price": "19.9", "barcode": "400"})
    assert response.status_code == 201, response.content
    body = response.json()
    created = Product.objects.get(tenant=tenant, sku="TEE-1")
    assert body == {"id": created.pk, "sku": "TEE-1", "name": "Tee", "price": "19.90", "barcode": "400"}


def test_create_product_without_barcode_returns_null_barcode(api_client):
    body = post(api_client, "/api/v1/products", {"sku": "MUG-1", "name": "Mug", "price": "7"}).json()
    assert body["barcode"] is None and body["price"] == "7.00"


def test_duplicate_sku_is_409_duplicate_sku(tenant, api_client):
    product(tenant, sku="TEE-1")
    response = post(api_client, "/api/v1/products", {"sku": "TEE-1", "name": "Again", "price": "1.00"})
    assert response.status_code == 409
    assert error_code(response) == "duplicate_sku"
    assert Product.objects.filter(tenant=tenant).count() == 1


def test_duplicate_barcode_is_409_and_writes_nothing(tenant, api_client):
    product(tenant, sku="TEE-1", barcode="4006381333931")
    response = post(
        api_client, "/api/v1/products", {"sku": "TEE-2", "name": "x", "price": "1", "barcode": "4006381333931"}
    )
    assert response.status_code == 409
    assert error_code(response) == "duplicate_barcode"
    assert not Product.objects.filter(sku="TEE-2").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "A-1", "name": "x", "price": "-1.00"},
        {"sku": "A-1", "name": "x", "price": "abc"},
        {"sku": "A-1", "name": "x", "price": "1.234"},
        {"sku": "A-1", "name": "x"},
        {"sku": "A-1", "price": "1.00"},
        {"name": "x", "price": "1.00"},
        {"sku": "", "name": "x", "price": "1.00"},
        {"sku": "A 1", "name": "x", "price": "1.00"},
        {"sku": "A-1", "name": "", "price": "1.00"},
        {"sku": "A-1", "name": "x", "price": "100000000000"},
    ],
)
def test_bad_product_is_422_invalid_and_writes_nothing(tenant, api_client, body):
    response = post(api_client, "/api/v1/products", body)
    assert response.status_code == 422, response.content
    assert error_code(response) == "invalid"
    assert not Product.objects.filter(tenant=tenant).exists()


def test_list_products_filters_by_sku(tenant, api_client):
    product(tenant, sku="TEE-1")
    product(tenant, sku="TEE-2")
    body = api_client.get("/api/v1/products", {"sku": "TEE-2"}).json()
    assert [p["sku"] for p in body["results"]] == ["TEE-2"]
    assert body["count"] == 1 and body["next"] is None


def test_list_products_pages(tenant, api_client):
    for n in range(5):
        product(tenant, sku=f"P-{n}")
    first = api_client.get("/api/v1/products", {"page_size": 2}).json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert "page=2" in first["next"]
    last = api_client.get("/api/v1/products", {"page_size": 2, "page": 3}).json()
    assert [p["sku"] for p in last["results"]] == ["P-4"] and last["next"] is None


@pytest.mark.parametrize("params", [{"page_size": 201}, {"page_size": 0}, {"page": 0}, {"page": "x"}])
def test_list_products_refuses_bad_paging_with_422(api_client, params):
    response = api_client.get("/api/v1/products", params)
    assert response.status_code == 422
    assert error_code(response) == "invalid"


def test_page_size_200_is_allowed(api_client):
    assert api_client.get("/api/v1/stock", {"page_size": 200}).status_code == 200


# --- warehouses --------------------------------------------------------------------------------------------------


def test_create_warehouse_returns_201(tenant, api_client):
    response = post(api_client, "/api/v1/warehouses", {"code": "EAST", "name": "East"})
    assert response.status_code == 201
    created = Warehouse.objects.get(tenant=tenant, code="EAST")
    assert response.json() == {"id": created.pk, "code": "EAST", "name": "East"}


def test_duplicate_warehouse_code_is_409(tenant, api_client):
    warehouse(tenant, "EAST")
    response = post(api_client, "/api/v1/warehouses", {"code": "EAST", "name": "Again"})
    assert response.status_code == 409 and error_code(response) == "duplicate_warehouse"


@pytest.mark.parametrize(
    "body", [{"code": "", "name": "x"}, {"code": "A B", "name": "x"}, {"name": "x"}, {"code": "A"}]
)
def test_bad_warehouse_is_422(tenant, api_client, body):
    response = post(api_client, "/api/v1/warehouses", body)
    assert response.status_code == 422 and error_code(response) == "invalid"
    assert not Warehouse.objects.filter(tenant=tenant).exists()


# --- receipts and stock ------------------------------------------------------------------------------------------


def test_receipt_adds_on_hand_through_a_receipt_movement(tenant, api_client):
    tee = product(tenant, sku="TEE-1")
    mug = product(tenant, sku="MUG-1")
    main = warehouse(tenant, "MAIN")
    response = post(
        api_client,
        "/api/v1/stock/receipts",
        {"warehouse": "MAIN", "lines": [{"sku": "TEE-1", "quantity": 5}, {"sku": "MUG-1", "quantity": 2}]},
    )
    assert response.status_code == 201, response.content
    assert level(tee, main).on_hand == 5 and level(mug, main).on_hand == 2
    moves = StockMove.objects.filter(tenant=tenant).order_by("product__sku")
    assert [(m.product.sku, m.kind, m.quantity) for m in moves] == [
        ("MUG-1", MoveKind.RECEIPT, 2),
        ("TEE-1", MoveKind.RECEIPT, 5),
    ]


def test_receipt_with_an_unknown_sku_is_422_unknown_sku_and_writes_nothing(tenant, api_client):
    stocked(tenant, 1, sku="TEE-1")
    before = snapshot()
    response = post(
        api_client,
        "/api/v1/stock/receipts",
        {"warehouse": "MAIN", "lines": [{"sku": "TEE-1", "quantity": 5}, {"sku": "NOPE", "quantity": 1}]},
    )
    assert response.status_code == 422
    assert error_code(response) == "unknown_sku"
    assert response.json()["error"]["details"]["skus"] == ["NOPE"]
    assert snapshot() == before


def test_receipt_into_an_unknown_warehouse_is_422_unknown_warehouse(tenant, api_client):
    product(tenant, sku="TEE-1")
    warehouse(tenant, "MAIN")
    before = snapshot()
    response = post(
        api_client, "/api/v1/stock/receipts", {"warehouse": "NOPE", "lines": [{"sku": "TEE-1", "quantity": 1}]}
    )
    assert response.status_code == 422
    assert error_code(response) == "unknown_warehouse"
    assert snapshot() == before


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001, "x", 1.5])
def test_receipt_with_a_bad_quantity_is_422_and_writes_nothing(tenant, api_client, quantity):
    stocked(tenant, 1, sku="TEE-1")
    before = snapshot()
    response = post(
        api_client, "/api/v1/stock/receipts", {"warehouse": "MAIN", "lines": [{"sku": "TEE-1", "quantity": quantity}]}
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid"
    assert snapshot() == before


def test_receipt_without_lines_is_422(tenant, api_client):
    warehouse(tenant, "MAIN")
    response = post(api_client, "/api/v1/stock/receipts", {"warehouse": "MAIN", "lines": []})
    assert response.status_code == 422


def test_stock_query_returns_levels_per_warehouse(tenant, api_client):
    from orders.services.reservations import reserve_order

    from .helpers import SYSTEM, order_for

    tee, main = stocked(tenant, 5, sku="TEE-1")
    north = warehouse(tenant, "NORTH", priority=200)
    from inventory import services

    services.receive(tenant=tenant, warehouse=north, lines=[(tee, 3)])
    stocked(tenant, 9, sku="MUG-1", where=main)
    reserve_order(order=order_for(tenant, tee, 2), actor=SYSTEM)
    body = api_client.get("/api/v1/stock", {"sku": "TEE-1"}).json()
    assert body["results"] == [
        {
            "sku": "TEE-1",
            "warehouse": "MAIN",
            "on_hand": 5,
            "reserved": 2,
            "available": 3,
            "incoming": 0,
            "expected_at": None,
        },
        {
            "sku": "TEE-1",
            "warehouse": "NORTH",
            "on_hand": 3,
            "reserved": 0,
            "available": 3,
            "incoming": 0,
            "expected_at": None,
        },
    ]
    assert body["count"] == 2


# --- tenant isolation --------------------------------------------------------------------------------------------


def test_a_token_never_sees_or_touches_another_tenants_catalogue_and_stock(
    tenant, other_tenant, api_client, other_api_client
):
    stocked(tenant, 5, sku="OURS-1")
    warehouse(other_tenant, "MAIN")
    assert other_api_client.get("/api/v1/products").json()["count"] == 0
    assert other_api_client.get("/api/v1/products", {"sku": "OURS-1"}).json()["results"] == []
    assert other_api_client.get("/api/v1/stock", {"sku": "OURS-1"}).json()["results"] == []
    before = snapshot()
    response = post(
        other_api_client, "/api/v1/stock/receipts", {"warehouse": "MAIN", "lines": [{"sku": "OURS-1", "quantity": 1}]}
    )
    assert response.status_code == 422 and error_code(response) == "unknown_sku"
    assert snapshot() == before
    # The same SKU may exist in the other tenant without a clash.
    assert (
        post(other_api_client, "/api/v1/products", {"sku": "OURS-1", "name": "Theirs", "price": "1"}).status_code == 201
    )
    assert api_client.get("/api/v1/products", {"sku": "OURS-1"}).json()["results"][0]["name"] != "Theirs"


def test_a_tenants_own_warehouse_code_is_required_for_receipts(tenant, other_tenant, api_client):
    product(tenant, sku="TEE-1")
    warehouse(other_tenant, "THEIRS")
    response = post(
        api_client, "/api/v1/stock/receipts", {"warehouse": "THEIRS", "lines": [{"sku": "TEE-1", "quantity": 1}]}
    )
    assert response.status_code == 422 and error_code(response) == "unknown_warehouse"

"""Numbers typed as digits that are not decimal ('²' passes str.isdigit(), int() refuses it) are refused like any
other bad number: never a 500 (ids and quantities are read with str.isdecimal())."""

import json

import pytest

from oms.models import Role

pytestmark = pytest.mark.django_db

BAD = "²"  # SUPERSCRIPT TWO: '²'.isdigit() is True, int('²') raises ValueError


@pytest.fixture
def order_id(api_client):
    api = api_client
    assert (
        api.post(
            "/api/v1/warehouses", json.dumps({"code": "W1", "name": "W1"}), content_type="application/json"
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/api/v1/products",
            json.dumps({"sku": "S1", "name": "S1", "price": "5.00"}),
            content_type="application/json",
        ).status_code
        == 201
    )
    r = api.post(
        "/api/v1/orders",
        json.dumps({"customer": {"name": "C"}, "lines": [{"sku": "S1", "quantity": 1}]}),
        content_type="application/json",
    )
    assert r.status_code == 201
    return r.json()["id"]


def _no_500(client, method, url, data=None):
    client.raise_request_exception = False
    r = getattr(client, method)(url, data or {})
    assert r.status_code != 500, f"{method.upper()} {url} {data} -> 500"
    return r


def test_documents_pdf(client_for, order_id):
    _no_500(client_for(Role.MANAGER), "get", f"/shipments/documents/invoice.pdf?orders={BAD}")


def test_handover_holder(client_for):
    _no_500(client_for(Role.PACKER), "get", f"/shipments/handover/?to=courier:{BAD}")


def test_events_retry(client_for):
    _no_500(client_for(Role.ADMIN), "post", "/settings/events/retry/", {"event": BAD})


def test_order_copy_lines(client_for, order_id):
    _no_500(client_for(Role.MANAGER), "post", f"/orders/{order_id}/copy/", {"lines": BAD})


def test_bulk_status(client_for, order_id):
    _no_500(client_for(Role.MANAGER), "post", "/orders/bulk-status/", {"orders": BAD, "to": "confirmed"})


def test_warehouse_packers(client_for, tenant, api_client, order_id):
    from inventory.models import Warehouse

    wh = Warehouse.objects.get(tenant=tenant, code="W1")
    _no_500(
        client_for(Role.ADMIN),
        "post",
        f"/inventory/warehouses/{wh.pk}/",
        {"name": "W1", "priority": "1", "is_active": "on", "packers": BAD},
    )


def test_return_quantity(client_for, order_id, api_client):
    line = api_client.get(f"/api/v1/orders/{order_id}").json()["lines"][0]["id"]
    _no_500(client_for(Role.MANAGER), "post", f"/shipments/orders/{order_id}/return/", {f"line-{line}": BAD})


def test_carrier_edit(client_for):
    _no_500(client_for(Role.ADMIN), "get", f"/shipments/settings/?edit={BAD}")


def test_trigger_hours(client_for):
    _no_500(
        client_for(Role.ADMIN),
        "post",
        "/alerts/settings/triggers/new/",
        {
            "op": "save",
            "name": "t",
            "event_kind": "order.created",
            "is_active": "on",
            "act_type": "create_task",
            "act_value": "",
            "act_text": "call",
            "act_hours": BAD,
        },
    )


def test_purchase_receive_qty(client_for, api_client, order_id):
    r = api_client.post(
        "/api/v1/purchase-orders",
        json.dumps({"supplier": "S", "warehouse": "W1", "lines": [{"sku": "S1", "quantity": 5}]}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    po = r.json()["id"]
    from inventory.models import PurchaseOrder

    line = PurchaseOrder.objects.get(pk=po).lines.first().pk
    _no_500(client_for(Role.MANAGER), "post", f"/inventory/purchases/{po}/receive/", {f"qty-{line}": BAD})


def test_handover_redirect_newline(client_for):
    _no_500(client_for(Role.PACKER), "post", "/shipments/handover/", {"to": "x\r\nSet-Cookie: a=b", "code": "1"})


def test_api_amount_huge_exponent(api_client, order_id):
    api_client.raise_request_exception = False
    r = api_client.post(
        f"/api/v1/orders/{order_id}/payments",
        json.dumps({"amount": "1e29", "method": "card"}),
        content_type="application/json",
    )
    assert r.status_code == 422, r.status_code

"""Every answer under /api/v1/ is JSON in the contract's error shape, never Django's HTML or plain text and never a 500
(API.md "General"): a body that is not JSON, one too large, an unknown path, a method a path does not take."""

import json

import pytest
from django.urls import reverse

from inventory.models import Warehouse
from oms.models import Role

pytestmark = pytest.mark.django_db

WAREHOUSE = json.dumps({"code": "W1", "name": "Main"})


def assert_error(response, status, code):
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


# --- bodies the API does not read --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=zz", "multipart/form-data", "application/x-www-form-urlencoded"]
)
def test_a_json_body_sent_as_a_form_is_refused_with_415_and_writes_nothing(api_client, content_type):
    response = api_client.post("/api/v1/warehouses", data=WAREHOUSE, content_type=content_type)
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert not Warehouse.objects.exists()


def test_a_multipart_body_with_parts_is_refused_with_415(api_client):
    api_client.raise_request_exception = False
    response = api_client.post("/api/v1/warehouses", data={"code": "W1", "name": "Main"})  # the client's multipart
    assert_error(response, 415, "unsupported_media_type")
    assert not Warehouse.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_bodies_are_still_taken(api_client, content_type):
    response = api_client.post("/api/v1/warehouses", data=WAREHOUSE, content_type=content_type)
    assert response.status_code == 201, response.content


def test_the_html_forms_keep_refusing_a_nul_in_a_multipart_form(client_for):
    manager = client_for(Role.MANAGER)
    response = manager.post(reverse("oms:account"), {"language": "en\x00"})  # the test client sends multipart
    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_a_body_larger_than_the_api_takes_is_refused_with_413(api_client, settings, debug):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({"code": "W1", "name": "x" * 2_000})
    response = api_client.post("/api/v1/warehouses", data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")
    assert not Warehouse.objects.exists()


# --- paths and methods -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v1/orders/434/", "/api/v1/", "/api/v1/orders/", "/api/v1/orders/434/nope"]
)
@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_answers_404_in_the_error_shape(api_client, settings, path, debug):
    settings.DEBUG = debug
    assert_error(api_client.get(path), 404, "not_found")


def test_an_unknown_api_path_answers_404_to_a_post_without_a_token(client):
    assert_error(client.post("/api/v1/nope", data=WAREHOUSE, content_type="application/json"), 404, "not_found")


def test_a_missing_object_still_answers_404_in_the_error_shape(api_client):
    assert_error(api_client.get("/api/v1/orders/434"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/api/v1/orders", {"GET", "POST"}),
        ("delete", "/api/v1/orders/434", {"GET"}),
        ("patch", "/api/v1/warehouses", {"POST"}),
    ],
)
def test_a_method_a_path_does_not_take_answers_405_in_the_error_shape(api_client, method, path, allowed):
    response = getattr(api_client, method)(path)
    error = assert_error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response["Allow"].split(",")} == allowed
    assert method.upper() in error["message"]


def test_the_openapi_document_is_still_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and "/api/v1/orders" in response.json()["paths"]


@pytest.mark.parametrize("body", ["https://hooks.example/x", ["https://hooks.example/x"], 7])
def test_a_webhook_body_that_is_not_an_object_is_refused_with_422(api_client, body):
    response = api_client.post("/api/v1/webhooks", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"

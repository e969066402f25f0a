"""The webhook endpoints of the REST API (API.md, "Webhooks")."""

import pytest

from notifications.models import WebhookEndpoint
from notifications.services import webhooks
from notifications.tasks import sweep_webhooks

from .helpers import Receiver, drain, place_order, stocked_product

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post("/api/v1/webhooks", body, content_type="application/json")


def test_create_shows_the_secret_once(api_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    response = post(api_client, {"url": "http://127.0.0.1:8123/hook", "events": ["order.created"]})
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "url", "events", "secret"} and body["secret"].startswith("whsec_")
    listed = api_client.get("/api/v1/webhooks").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    assert listed["results"][0]["events"] == ["order.created"]


def test_private_url_is_refused_with_invalid_url(api_client):
    response = post(api_client, {"url": "http://192.168.1.10/hook", "events": ["order.created"]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_url"
    assert not WebhookEndpoint.objects.exists()


def test_non_http_url_is_refused(api_client):
    response = post(api_client, {"url": "file:///etc/passwd", "events": ["order.created"]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_url"


def test_unknown_event_is_invalid(api_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    response = post(api_client, {"url": "http://127.0.0.1:1/x", "events": ["order.exploded"]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"


def test_delete_answers_204_and_foreign_ids_404(api_client, other_api_client, tenant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    endpoint, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:1/x", events=["order.created"])
    assert other_api_client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 404
    assert other_api_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").status_code == 404
    assert api_client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 204
    assert api_client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 404


def test_deliveries_list_each_attempt(api_client, tenant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    with Receiver(codes=[500, 200]) as receiver:
        endpoint, _ = webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        order = place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
    body = api_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["type"] == "order.created" and row["attempt"] == 1 and row["status_code"] == 500
    assert isinstance(row["event_id"], int) and row["at"]
    assert order.pk


def test_requires_a_token(client):
    assert client.get("/api/v1/webhooks").status_code == 401

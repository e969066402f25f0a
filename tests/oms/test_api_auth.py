import pytest
from django.db import connection
from django.test import Client

from oms import tenant_binding
from oms.services import create_api_token, revoke_api_token
from tests.factories import ProductFactory
from tests.oms.test_savepoints import round_trips

pytestmark = pytest.mark.django_db


def test_missing_token_is_401_in_contract_shape(client):
    response = client.get("/api/v1/products")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_wrong_token_is_401():
    response = Client(HTTP_AUTHORIZATION="Bearer oms_nope").get("/api/v1/products")
    assert response.status_code == 401


def test_revoked_token_is_401(tenant):
    token, raw = create_api_token(tenant=tenant)
    revoke_api_token(token=token)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/products").status_code == 401


def test_token_acts_only_inside_its_tenant(tenant, other_tenant, api_client):
    ours = ProductFactory(tenant=tenant, sku="OURS")
    ProductFactory(tenant=other_tenant, sku="THEIRS")
    body = api_client.get("/api/v1/products").json()
    assert [p["sku"] for p in body["results"]] == ["OURS"]
    assert body["count"] == 1
    assert ours.pk == body["results"][0]["id"]


def test_token_records_last_use(tenant):
    token, raw = create_api_token(tenant=tenant)
    Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/products")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_openapi_document_is_served(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/orders" in document["paths"]


def test_the_token_and_its_shop_are_one_round_trip(tenant, api_client):
    ProductFactory(tenant=tenant, sku="ONE-TRIP")
    api_client.get("/api/v1/products")  # the token's last use is written once a minute, not on every call
    answers = []
    trips = round_trips(lambda: answers.append(api_client.get("/api/v1/products").json()))
    assert [p["sku"] for p in answers[0]["results"]] == ["ONE-TRIP"]
    first = trips[0]
    assert "oms_token_tenant(" in first[0]  # the binding finds the shop...
    run = [message for message in first if message.startswith("Bind")][-1]  # ...for the statement after it
    with connection.cursor() as cursor:  # prepared in an earlier call of this session: its text by its name
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [run.split('"')[3]])
        assert '"oms_apitoken"' in cursor.fetchone()[0]
    assert not [trip for trip in trips[1:] if "oms_token_tenant(" in " ".join(trip)]


@pytest.mark.parametrize("not_a_digest", ["x' OR true --", "A" * 64, "0" * 63, ""])
def test_a_token_binding_takes_only_a_hexadecimal_digest(not_a_digest):
    with pytest.raises(ValueError):
        tenant_binding.binding_sql(tenant_binding.TokenShop(not_a_digest))


def test_the_api_is_the_first_pattern_a_request_is_matched_against():
    from oms.urls import urlpatterns

    assert str(urlpatterns[0].pattern) == "api/v1/"  # an API call is most of the traffic

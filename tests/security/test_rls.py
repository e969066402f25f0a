"""Row-level security: an unfiltered query made as the application role sees no foreign rows."""

import pytest
from django.db import DatabaseError, connection, transaction

from inventory.models import Product
from oms import rls
from oms.models import Role
from oms.services import create_api_token
from orders.models import Order
from tests.factories import ProductFactory, make_member
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_every_tenant_table_has_forced_rls_and_a_policy():
    tables = rls.tenant_tables()
    assert "orders_order" in tables and "inventory_product" in tables and "orders_historicalorder" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND c.relrowsecurity AND c.relforcerowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = %s)",
            [tables, rls.POLICY],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert sorted(set(tables) - protected) == []


def test_unfiltered_queries_see_only_the_bound_tenant(tenant, other_tenant, app_role):
    with rls.all_tenants():
        ours = place_order(tenant, [(stocked_product(tenant), 1)])
        theirs = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    rls.set_tenant(tenant.pk)
    assert list(Order.objects.values_list("pk", flat=True)) == [ours.pk]  # no tenant filter written
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        assert cursor.fetchone()[0] == 1
    assert not Order.objects.filter(pk=theirs.pk).exists()
    rls.set_tenant(None)
    assert Order.objects.count() == 0 and Product.objects.count() == 0  # no tenant bound: nothing at all


def test_writing_a_row_for_another_tenant_is_refused(tenant, other_tenant, app_role):
    rls.set_tenant(tenant.pk)
    with pytest.raises(DatabaseError), transaction.atomic():
        ProductFactory(tenant=other_tenant)


def test_requests_bind_their_tenant(tenant, other_tenant, app_role):
    from django.test import Client

    with rls.all_tenants():
        ours = place_order(tenant, [(stocked_product(tenant), 1)])
        theirs = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
        manager = make_member(tenant, Role.MANAGER)
        _, raw = create_api_token(tenant=tenant)
    client = Client()
    client.force_login(manager)
    page = client.get("/orders/").content.decode()
    assert ours.number in page
    assert client.get(f"/orders/{theirs.pk}/").status_code == 404
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [o["id"] for o in api.get("/api/v1/orders").json()["results"]] == [ours.pk]
    assert api.get(f"/api/v1/orders/{theirs.pk}").status_code == 404

"""Row-level security: the suite's connection is the application role, the wall binds it, and it cannot lift it."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client

from inventory.models import Product
from oms import rls, system
from oms.models import Role, hash_token
from oms.services import create_api_token
from orders.models import Order
from tests.factories import ProductFactory, make_member
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


def scalar(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def refused(sql):
    """The statement fails for lack of privilege; the test's transaction carries on."""
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


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


def test_the_suite_logs_in_as_the_application_role_that_rls_binds():
    assert scalar("SELECT current_user") == settings.DATABASE_APP_ROLE
    assert scalar("SELECT session_user") == settings.DATABASE_APP_ROLE
    assert scalar("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user") is False
    assert (
        scalar(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = current_user"
        )
        == 0
    )


def test_the_application_role_cannot_leave_itself(tenant):
    for other in ("postgres", rls.SYSTEM_ROLE):
        refused(f"SET ROLE {other}")
        refused(f"SET SESSION AUTHORIZATION {other}")
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert scalar("SELECT current_user") == settings.DATABASE_APP_ROLE


def test_the_application_role_cannot_switch_the_wall_off(tenant, other_tenant):
    with rls.tenant_context(other_tenant.pk):
        place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    refused("ALTER TABLE orders_order DISABLE ROW LEVEL SECURITY")
    refused("ALTER TABLE orders_order NO FORCE ROW LEVEL SECURITY")
    refused(f"DROP POLICY {rls.POLICY} ON orders_order")
    refused("CREATE POLICY everything ON orders_order USING (true)")
    refused("SET row_security = off; SELECT count(*) FROM orders_order")
    # The earlier all-tenants switch is gone: setting it changes nothing.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.all_tenants', 'on', false)")
    assert Order.objects.count() == 0
    assert scalar("SELECT count(*) FROM orders_order") == 0


def test_system_functions_answer_only_their_narrow_question(tenant, other_tenant):
    """They run as the system role but take no SQL: the app learns a tenant id, never another shop's rows."""
    theirs = make_member(other_tenant, Role.MANAGER)
    assert [row[0] for row in rls.system_rows(system.member_tenants, theirs.pk)] == [other_tenant.pk]
    assert rls.system_value(system.token_tenant, "no such hash") is None
    refused(f"ALTER FUNCTION {system.member_tenants.signature} OWNER TO {settings.DATABASE_APP_ROLE}")
    refused(
        f"CREATE OR REPLACE FUNCTION {system.member_tenants.name}(p_user_id bigint) RETURNS SETOF bigint "
        "LANGUAGE sql AS 'SELECT id FROM orders_order'"
    )


def test_a_system_function_of_one_value_keeps_its_plan_for_the_session(tenant):
    """PL/pgSQL keeps the plan of its query; a SQL function that cannot be inlined is planned on every call (the
    API token's is asked on every API call). It still answers with nothing where there is no row."""
    language = scalar(
        "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = %s::regprocedure",
        [system.token_tenant.signature],
    )
    assert language == "plpgsql"
    _, token = create_api_token(tenant=tenant, name="plan kept")
    assert rls.system_value(system.token_tenant, hash_token(token)) == tenant.pk
    assert rls.system_value(system.token_tenant, "no such hash") is None


def test_unfiltered_queries_see_only_the_bound_tenant(tenant, other_tenant):
    ours = place_order(tenant, [(stocked_product(tenant), 1)])
    theirs = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    rls.bind(tenant.pk)
    assert list(Order.objects.values_list("pk", flat=True)) == [ours.pk]  # no tenant filter written
    assert scalar("SELECT count(*) FROM orders_order") == 1
    assert not Order.objects.filter(pk=theirs.pk).exists()
    rls.bind(None)
    assert Order.objects.count() == 0 and Product.objects.count() == 0  # no tenant bound: nothing at all


def test_writing_a_row_for_another_tenant_is_refused(tenant, other_tenant):
    rls.bind(tenant.pk)
    with pytest.raises(DatabaseError), transaction.atomic():
        Product.objects.create(tenant=other_tenant, sku="X", name="X", price=1)
    assert ProductFactory(tenant=other_tenant).pk  # inside its own tenant it is fine


def test_requests_bind_their_tenant(tenant, other_tenant):
    ours = place_order(tenant, [(stocked_product(tenant), 1)])
    theirs = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    manager = make_member(tenant, Role.MANAGER)
    _, raw = create_api_token(tenant=tenant)
    rls.bind(None)
    client = Client()
    client.force_login(manager)
    page = client.get("/orders/").content.decode()
    assert ours.number in page
    assert client.get(f"/orders/{theirs.pk}/").status_code == 404
    rls.bind(None)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [o["id"] for o in api.get("/api/v1/orders").json()["results"]] == [ours.pk]
    assert api.get(f"/api/v1/orders/{theirs.pk}").status_code == 404


def test_public_tracking_page_opens_for_an_anonymous_customer(tenant):
    from notifications.services.tracking import tracking_path

    order = place_order(tenant, [(stocked_product(tenant), 1)])
    path = tracking_path(order)
    rls.bind(None)  # a visitor's request starts bound to no shop
    response = Client().get(path)
    assert response.status_code == 200
    assert order.number in response.content.decode()
    assert Client().get(path[:-3] + "xyz/").status_code == 404

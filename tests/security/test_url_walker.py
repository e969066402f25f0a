"""Walks every URL pattern of the project, so a new screen, partial, PDF or API endpoint is checked the day it is added.

1. Roles: each URL is requested as every role and anonymously, and compared with ACCESS below. A URL missing from
   ACCESS fails the test: whoever adds a URL must say who may open it.
2. Tenant walls: every URL that takes an object id is requested by a member (or API token) of tenant A with ids that
   belong to tenant B — tenant B's data is created after every id sequence is moved to FOREIGN_ID, so the first
   object of each kind in B has exactly that id. Every such request must answer 404.
"""

import json
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from oms import rls
from oms.models import Role, Tenant
from oms.services import create_api_token
from tests.factories import make_member

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MANAGER, PACKER, COURIER = Role.OWNER, Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER
EVERY_ROLE = frozenset(Role.values)
OFFICE = frozenset({OWNER, MANAGER})
SETTINGS = frozenset({OWNER, ADMIN})
STOCK = frozenset({OWNER, MANAGER, ADMIN})
WAREHOUSE = frozenset({OWNER, MANAGER, PACKER})
PUBLIC = "public"  # no login needed
LOGGED_IN = "logged-in"  # any authenticated user, before a shop is chosen
API = "api"  # bearer token

ACCESS = {
    "home": LOGGED_IN,
    "healthz": PUBLIC,
    "favicon": PUBLIC,
    "password_change": LOGGED_IN,
    "oms:account": LOGGED_IN,
    "oms:staff": SETTINGS,
    "oms:staff_audit": frozenset({OWNER}),
    "oms:staff_role": SETTINGS,
    "oms:staff_active": SETTINGS,
    "oms:staff_password_link": SETTINGS,
    "oms:staff_password_email": SETTINGS,
    "oms:events_retry": SETTINGS,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "login": PUBLIC,
    "logout": PUBLIC,
    "oms:choose_tenant": LOGGED_IN,
    "oms:settings": SETTINGS,
    "oms:api_token_create": SETTINGS,
    "oms:api_token_revoke": SETTINGS,
    "oms:job": frozenset({OWNER}),
    "oms:job_download": frozenset({OWNER}),
    "oms:export": frozenset({OWNER}),
    "oms:round_robin": SETTINGS,
    "oms:serve_waiting": SETTINGS,
    "inventory:products": STOCK,
    "inventory:product_create": STOCK,
    "inventory:product": STOCK,
    "inventory:product_update": STOCK,
    "inventory:receive": STOCK,
    "inventory:write_off": STOCK,
    "inventory:adjust": STOCK,
    "inventory:warehouses": SETTINGS,
    "inventory:warehouse_edit": SETTINGS,
    "inventory:import": STOCK,
    "inventory:import_confirm": STOCK,
    "inventory:purchases": STOCK | WAREHOUSE,
    "inventory:purchase": STOCK | WAREHOUSE,
    "inventory:purchase_scan": STOCK | WAREHOUSE,
    "inventory:purchase_receive": STOCK | WAREHOUSE,
    "inventory:purchase_new": STOCK,
    "inventory:purchase_cancel": STOCK,
    "inventory:purchase_expected": STOCK,
    "inventory:purchase_pdf": STOCK | WAREHOUSE,
    "inventory:transfers": STOCK | WAREHOUSE,
    "inventory:transfer": STOCK | WAREHOUSE,
    "inventory:transfer_scan": STOCK | WAREHOUSE,
    "inventory:transfer_receive": STOCK | WAREHOUSE,
    "inventory:transfer_new": STOCK,
    "inventory:transfer_close": STOCK,
    "inventory:reorder": STOCK,
    "inventory:reorder_point": STOCK,
    "orders:list": OFFICE,
    "orders:bulk_status": OFFICE,
    "orders:new": OFFICE,
    "orders:product_search": OFFICE,
    "orders:detail": OFFICE,
    "orders:change_status": OFFICE,
    "orders:reserve": OFFICE,
    "orders:split": OFFICE,
    "orders:copy": OFFICE,
    "orders:edit_fields": OFFICE,
    "orders:add_line": OFFICE,
    "orders:edit_line": OFFICE,
    "orders:add_note": OFFICE,
    "orders:set_charges": OFFICE,
    "orders:add_payment": OFFICE,
    "orders:customers": OFFICE,
    "orders:customer": OFFICE,
    "orders:customer_merge": OFFICE,
    "orders:statuses": SETTINGS,
    "orders:status_edit": SETTINGS,
    "orders:matrix": SETTINGS,
    "orders:matrix_toggle": SETTINGS,
    "shipments:packing": WAREHOUSE,
    "shipments:packing_open": WAREHOUSE,
    "shipments:packing_station": WAREHOUSE,
    "shipments:packing_scan": WAREHOUSE,
    "shipments:packing_undo": WAREHOUSE,
    "shipments:handover": WAREHOUSE,
    "shipments:returns": WAREHOUSE,
    "shipments:route": frozenset({COURIER}),
    "shipments:route_depart": frozenset({COURIER}),
    "shipments:route_close": frozenset({COURIER}),
    "shipments:stop_deliver": frozenset({COURIER}),
    "shipments:stop_fail": frozenset({COURIER}),
    "shipments:order_custody": WAREHOUSE,
    "shipments:write_off_lost": OFFICE,
    "shipments:announce_return": OFFICE,
    "shipments:customer_return": WAREHOUSE,
    "shipments:document": frozenset({OWNER, ADMIN, MANAGER, PACKER}),
    "shipments:incidents": OFFICE,
    "shipments:settings": SETTINGS,
    "shipments:incident_resolve": OFFICE,
    "notifications:inbox": frozenset({OWNER, MANAGER, ADMIN}),
    "notifications:badge": frozenset({OWNER, MANAGER, ADMIN}),
    "notifications:alert_read": frozenset({OWNER, MANAGER, ADMIN}),
    "notifications:alerts_read_all": frozenset({OWNER, MANAGER, ADMIN}),
    "notifications:tasks": OFFICE,
    "notifications:task_toggle": OFFICE,
    "notifications:order_panel": frozenset({OWNER, MANAGER, ADMIN}),
    "notifications:track": PUBLIC,
    "notifications:settings": SETTINGS,
    "notifications:triggers": SETTINGS,
    "notifications:trigger_new": SETTINGS,
    "notifications:trigger_log_all": SETTINGS,
    "notifications:trigger_from_template": SETTINGS,
    "notifications:trigger_edit": SETTINGS,
    "notifications:trigger_toggle": SETTINGS,
    "notifications:trigger_delete": SETTINGS,
    "notifications:trigger_dry_run": SETTINGS,
    "notifications:trigger_log": SETTINGS,
    "notifications:time_limits": SETTINGS,
    "notifications:time_limit_delete": SETTINGS,
    "notifications:holiday_add": SETTINGS,
    "notifications:holiday_delete": SETTINGS,
    "notifications:templates": SETTINGS,
    "notifications:install_templates": SETTINGS,
    "notifications:template_edit": SETTINGS,
    "notifications:windows": SETTINGS,
    "notifications:window_delete": SETTINGS,
    "notifications:webhooks": SETTINGS,
    "notifications:webhook_detail": SETTINGS,
    "notifications:webhook_action": SETTINGS,
    "notifications:delivery_resend": SETTINGS,
    "analytics:home": frozenset({OWNER}),
    "analytics:cohorts": frozenset({OWNER}),
    "analytics:ltv": frozenset({OWNER}),
    "analytics:flow": frozenset({OWNER}),
    "analytics:sla": frozenset({OWNER}),
    "analytics:splits": frozenset({OWNER}),
    "analytics:margins": frozenset({OWNER}),
    "analytics:settings": frozenset({OWNER}),
    "analytics:refresh": frozenset({OWNER}),
    "api:openapi-json": PUBLIC,
    "api:create_product": API,
    "api:list_products": API,
    "api:create_warehouse": API,
    "api:receive_stock": API,
    "api:stock": API,
    "api:create_purchase_order": API,
    "api:delivery_promise": API,
    "api:list_purchase_orders": API,
    "api:get_purchase_order": API,
    "api:receive_purchase_order": API,
    "api:create_order": API,
    "api:list_orders": API,
    "api:get_order": API,
    "api:transition": API,
    "api:reserve": API,
    "api:split": API,
    "api:history": API,
    "api:add_payment": API,
    "api:list_payments": API,
    "api:create_webhook": API,
    "api:list_webhooks": API,
    "api:delete_webhook": API,
    "api:list_deliveries": API,
    "api:api-root": PUBLIC,
}
VALID_BODIES = {
    "api:transition": {"to": "confirmed"},
    "api:split": {"mode": "copy"},
    "api:add_payment": {"amount": "1.00", "method": "card"},
    "api:list_payments": {"amount": "1.00", "method": "card"},
    "api:receive_purchase_order": {"lines": [{"sku": "X", "quantity": 1}]},
    "api:get_purchase_order": {"lines": [{"sku": "X", "quantity": 1}]},
}  # so the id, not the body, decides
FOREIGN_ID = 777_777
MISSING_ID = 999_999_999
SAMPLE_VALUES = {"int": MISSING_ID, "slug": "invoice", "str": "x-not-a-token", "path": "x"}


def url_patterns(patterns=None, prefix="", namespace=None):
    """(path with converters, name, converter names) for every route of the project."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, dict(entry.pattern.converters)


def fill(route: str, converters: dict, value_for_int) -> str:
    import re

    def replace(match):
        kind, _ = (match.group(1) or "str"), match.group(2)
        return str(value_for_int if kind == "int" else SAMPLE_VALUES.get(kind, "x"))

    path = re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)
    return "/" + path.lstrip("^").rstrip("$")


def request(client: Client, path: str):
    """GET, or POST where the URL only takes POST. Documents are fetched with their order ids."""
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {})
    return response


def test_every_url_has_an_access_rule():
    missing = sorted({name or route for route, name, _ in url_patterns() if (name or route) not in ACCESS})
    assert missing == [], f"Add these URLs to ACCESS with the roles that may open them: {missing}"


@pytest.mark.parametrize("role", Role.values)
def test_each_role_gets_exactly_the_screens_of_its_table(tenant, role):
    client = Client()
    client.force_login(make_member(tenant, role))
    wrong = []
    for route, name, converters in url_patterns():
        rule = ACCESS.get(name)
        if rule in (PUBLIC, LOGGED_IN, API) or name == "logout" or route.startswith("api/"):
            continue
        status = request(client, fill(route, converters, MISSING_ID)).status_code
        allowed = role in rule
        if (status == 403) == allowed or status >= 500:
            wrong.append((name, status))
    assert wrong == [], f"{role}: unexpected answers {wrong}"


def test_anonymous_users_are_sent_to_login(db):
    client = Client()
    wrong = []
    for route, name, converters in url_patterns():
        if ACCESS.get(name) in (PUBLIC, API) or route.startswith("api/"):
            continue
        response = request(client, fill(route, converters, MISSING_ID))
        if response.status_code not in (302, 405) or (
            response.status_code == 302 and "/accounts/login/" not in response["Location"]
        ):
            wrong.append((name, response.status_code))
    assert wrong == []


@pytest.fixture
def foreign_world(tenant, settings):
    """Tenant B's demo data, every table's first B row having the id FOREIGN_ID."""
    with connection.cursor() as cursor:
        for table in rls.tenant_tables():
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            if sequence:
                cursor.execute("SELECT setval(%s, %s, false)", [sequence, FOREIGN_ID])
    settings.DEBUG = True
    call_command("seed_demo", orders=12)
    call_command("seed_shipments_demo")
    return Tenant.objects.get(slug="demo")


def test_ids_of_another_tenant_answer_404_everywhere(tenant, foreign_world):
    members = {role: Client() for role in Role.values}
    for role, client in members.items():
        client.force_login(make_member(tenant, role))
    foreign_members = {role: Client() for role in Role.values}
    for role, client in foreign_members.items():
        client.force_login(make_member(foreign_world, role))
    leaks, checked, meaningful = [], 0, 0
    for route, name, converters in url_patterns():
        if (
            not any(kind == "int" or getattr(c, "regex", "") == "[0-9]+" for kind, c in converters.items())
            and "<int:" not in route
        ):
            continue
        rule = ACCESS.get(name)
        if route.startswith("api/") or rule in (PUBLIC, LOGGED_IN, API):
            continue
        role = sorted(rule)[0]
        path = fill(route, converters, FOREIGN_ID)
        status = request(members[role], path).status_code
        checked += 1
        if status != 404:
            leaks.append((name, status))
        if request(foreign_members[role], path).status_code != 404:
            meaningful += 1  # B itself can open it: the id really names B's object
    assert leaks == [], f"foreign ids not answered with 404: {leaks}"
    assert checked >= 30 and meaningful >= 10, (checked, meaningful)


def test_api_ids_of_another_tenant_answer_404(tenant, foreign_world):
    _, raw = create_api_token(tenant=tenant)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    leaks = []
    for route, name, converters in url_patterns():
        if not route.startswith("api/") or "<" not in route:
            continue
        path = "/" + re.sub(r"<\w+_id>", str(FOREIGN_ID), route)
        answers = {
            "get": client.get(path),
            "post": client.post(path, data=json.dumps(VALID_BODIES.get(name, {})), content_type="application/json"),
            "delete": client.delete(path),
        }
        leaks += [(name, method, r.status_code) for method, r in answers.items() if r.status_code not in (404, 405)]
    assert leaks == []


def test_api_requires_a_token(db):
    client = Client()
    for route, name, converters in url_patterns():
        if route.startswith("api/") and ACCESS.get(name) != PUBLIC:
            path = "/" + re.sub(r"<\w+_id>", "1", route)
            assert client.get(path).status_code in (401, 405), name

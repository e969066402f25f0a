"""What intake costs the database: an order create and a reserve through the API send a fixed, small number of
statements, the same for 1, 5 or 50 lines, with row-level security on (the suite runs as the app's role).

Measured per request through the test client, as production runs it: no test transaction around the request (the
request's own transaction: its BEGIN rides in the message of its first statement, the COMMIT is counted). What the
request queues after commit runs in a worker, not in the request: here it is only noted. Each logged statement is a round trip:
the tenant binding and any SAVEPOINT or RELEASE ride in front of a statement in its message (oms/dbbackend/base.py)
and cost none of their own."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oms import events
from oms.db import SENT_AHEAD
from oms.models import Role
from orders.models import Order
from tests.factories import make_member
from tests.oms.test_health_check import owner_session

from .helpers import stocked_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """Tasks sent after commit (the outbox's dispatch) are a worker's statements, not the request's."""
    sent = []
    monkeypatch.setattr(events, "send_task", lambda task, *args, **kwargs: sent.append((task.name, args)) or True)
    return sent


# History rows, activity entries, outbox rows, the answer kept for the Idempotency-Key and the order's time of change
# are sent ahead of the next statement (`oms.db.send_ahead`): nobody waits for their answer. The products, the
# customer's contacts and the new order's status are read together (`oms.db.read_together`); the order's number and
# the ids of its rows are taken together; the order's INSERT waits for its answer only when it has an external id (a
# duplicate is answered), its lines never. Here: the token, the key, the reads, the keys, the order, the COMMIT.
MOST_STATEMENTS = 6
# The reserve locks and reads the order, with its status and customer, and reads its lines and their products, in
# one round trip (the lines after the lock), then reserves in one statement and answers from memory; the order's
# time of change is written without a history row (nothing the history keeps changed).
MOST_RESERVE_STATEMENTS = 4
# A site's usual order: paid by card, from a customer the shop has not seen, no external id. The token, the reads,
# the keys and the COMMIT, which carries every row: the customer, its history row and contact, the order, its lines,
# the payment, the activity entries and the events.
MOST_STATEMENTS_PAID_NEW_CUSTOMER = 4
# A shop that shares new orders among its managers in turn: the turn is one statement.
ROUND_ROBIN_STATEMENTS = 1
SIZES = (1, 5, 50)


def app_statements(captured) -> list[str]:
    """Each a round trip. Django notes a transaction's BEGIN on its own, but it travels in the message of the
    transaction's first statement (tests/oms/test_savepoints.py proves it from libpq's trace), and a write sent
    ahead rides in front of the next statement (the same test proves it): neither is counted."""
    return [q["sql"] for q in captured if q["sql"] != "BEGIN" and not q["sql"].endswith(SENT_AHEAD)]


def post(client, path, body=None, **headers):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def order_body(products, **extra):
    return {
        "customer": {"name": "Ann", "phone": "+7 900 111-22-33", "email": "ann@example.com"},
        "lines": [{"sku": p.sku, "quantity": 2} for p in products],
        "delivery": {"method": "courier", "address": "Main 1"},
        "payment": {"method": "card"},
        **extra,
    }


def measured(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, app_statements(captured.captured_queries)


def shown(statements) -> str:
    return "\n".join(f"{n:>3}  {sql[:160]}" for n, sql in enumerate(statements, start=1))


def create_and_reserve(tenant, api_client, size) -> tuple[list[str], list[str]]:
    products = [stocked_product(tenant, sku=f"COST-{size}-{i}", on_hand=5) for i in range(size)]
    assert post(api_client, "/api/v1/orders", order_body(products[:1])).status_code == 201  # the customer exists
    response, create = measured(
        lambda: post(
            api_client,
            "/api/v1/orders",
            order_body(products, external_id=f"shop-{size}"),
            HTTP_IDEMPOTENCY_KEY=f"key-{size}",
        )
    )
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    response, reserve = measured(lambda: post(api_client, f"/api/v1/orders/{order_id}/reserve"))
    assert response.status_code == 200, response.content
    assert [line["reserved"] for line in response.json()["lines"]] == [2] * size
    return create, reserve


def test_create_and_reserve_cost_a_fixed_small_number_of_statements(tenant, api_client):
    counts = {}
    for size in SIZES:
        create, reserve = create_and_reserve(tenant, api_client, size)
        assert len(create) <= MOST_STATEMENTS, f"create, {size} line(s):\n{shown(create)}"
        assert len(reserve) <= MOST_RESERVE_STATEMENTS, f"reserve, {size} line(s):\n{shown(reserve)}"
        counts[size] = (len(create), len(reserve))
    assert len(set(counts.values())) == 1, counts  # whatever the number of lines


@pytest.mark.parametrize("round_robin", [False, True])
def test_a_paid_order_of_a_new_customer_costs_a_fixed_number_too_and_the_answers_are_what_the_database_holds(
    tenant, api_client, round_robin
):
    most = MOST_STATEMENTS_PAID_NEW_CUSTOMER + (ROUND_ROBIN_STATEMENTS if round_robin else 0)
    if round_robin:
        tenant.round_robin_assignment = True
        tenant.save(update_fields=["round_robin_assignment"])
        managers = sorted(make_member(tenant, Role.MANAGER).pk for _ in range(2))
    warm = stocked_product(tenant, sku="PAID-WARM", on_hand=5)
    assert post(api_client, "/api/v1/orders", order_body([warm])).status_code == 201  # the token's use is noted
    counts = {}
    for size in SIZES:
        products = [stocked_product(tenant, sku=f"PAID-{size}-{i}", on_hand=5) for i in range(size)]
        body = order_body(products, payment={"method": "card", "status": "paid"})
        body["customer"] = {"name": f"New {size}", "phone": f"+7 900 555-00-{size:02d}"}
        created, create = measured(lambda body=body: post(api_client, "/api/v1/orders", body))
        assert created.status_code == 201, created.content
        order_id = created.json()["id"]
        reserved, reserve = measured(lambda order_id=order_id: post(api_client, f"/api/v1/orders/{order_id}/reserve"))
        assert len(create) <= most, f"create, {size} line(s):\n{shown(create)}"
        assert len(reserve) <= MOST_RESERVE_STATEMENTS, f"reserve, {size} line(s):\n{shown(reserve)}"
        counts[size] = (len(create), len(reserve))
        total = created.json()["total"]
        assert created.json()["payment"] | {"method": None} == {
            "method": None,
            "status": "paid",
            "paid": total,
            "due": "0.00",
        }
        payments = api_client.get(f"/api/v1/orders/{order_id}/payments").json()["results"]
        assert [(p["kind"], p["amount"]) for p in payments] == [("payment", total)]
        now = api_client.get(f"/api/v1/orders/{order_id}").json()
        assert reserved.json() == now  # reserve answered from memory what the database holds
        assert [line["reserved"] for line in now["lines"]] == [2] * size
        assert {k: v for k, v in created.json().items() if k not in ("lines", "updated_at")} == {
            k: v for k, v in now.items() if k not in ("lines", "updated_at")
        }
        if round_robin:
            assert Order.objects.get(pk=order_id).manager_id in managers
    assert len(set(counts.values())) == 1, counts


def test_the_replayed_create_answers_the_same_without_writing(tenant, api_client):
    products = [stocked_product(tenant, sku=f"AGAIN-{i}", on_hand=5) for i in range(3)]
    body = order_body(products, external_id="shop-again")
    first = post(api_client, "/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="again")
    again, statements = measured(lambda: post(api_client, "/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="again"))
    assert (again.status_code, again.json()) == (201, first.json())
    assert not [sql for sql in statements if sql.lstrip().upper().startswith(("UPDATE", "DELETE"))]
    fresh = api_client.get(f"/api/v1/orders/{first.json()['id']}").json()
    assert fresh == first.json()  # what create answered from memory is what the database holds


def test_the_order_list_counts_no_rows(tenant, api_client):
    product = stocked_product(tenant, sku="LISTED", on_hand=5)
    ids = [post(api_client, "/api/v1/orders", order_body([product])).json()["id"] for _ in range(3)]
    first, statements = measured(lambda: api_client.get("/api/v1/orders?page_size=2"))
    assert not [sql for sql in statements if "COUNT(" in sql.upper()], shown(statements)
    body = first.json()
    assert [o["id"] for o in body["results"]] == ids[::-1][:2]
    assert body["next"] and body["count"] == 3  # before the last page: at least the rows so far and one more
    last = api_client.get(body["next"]).json()
    assert [o["id"] for o in last["results"]] == ids[:1] and last["next"] is None and last["count"] == 3
    past = api_client.get("/api/v1/orders?page=5&page_size=2").json()
    assert past == {"results": [], "count": 3, "next": None}  # only a page past the end counts


CONTACT_READ = '"orders_customercontact"."normalized" ='


def test_the_customer_read_of_every_order_is_planned_once_per_session_not_per_order(tenant, api_client):
    """PostgreSQL plans a prepared statement with its values five times, then keeps one generic plan if that is no
    dearer on paper. The customer's read names one contact per kind against the unique index, so its generic plan
    is two probes of that index whatever the statistics, and it is kept (as an array of contacts it was planned on
    every order, which cost more than running it; the counts above do not see planning). The products by SKU and
    the new order's status are prepared too, but which plan wins for them depends on the statistics."""
    with owner_session() as owner:  # a shop that knows some customers, and statistics that know it
        owner.execute(
            "WITH c AS (INSERT INTO orders_customer (tenant_id, name, phone, email, address, tags, notes, created_at) "
            "SELECT %s, 'Known ' || n, '', '', '', '{}', '', now() FROM generate_series(1, 2000) AS n RETURNING id) "
            "INSERT INTO orders_customercontact (tenant_id, customer_id, kind, value, normalized) "
            "SELECT %s, id, kind, id::text, id::text FROM c, unnest(array['phone', 'email']) AS kind",
            [tenant.pk, tenant.pk],
        )
        owner.execute("ANALYZE orders_customercontact")
    products = [stocked_product(tenant, sku=f"PLAN-{i}", on_hand=100) for i in range(3)]
    for n in range(12):
        body = order_body(products[: 1 + n % 3])
        body["customer"] = {"name": f"Plan {n}", "phone": f"+7 900 777-00-{n % 4:02d}", "email": f"p{n}@example.com"}
        assert post(api_client, "/api/v1/orders", body).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        ((generic, custom),) = [(g, c) for sql, g, c in cursor.fetchall() if CONTACT_READ in sql]
    assert custom <= 5 and generic >= 12 - 5, f"{generic} generic plans, {custom} custom"

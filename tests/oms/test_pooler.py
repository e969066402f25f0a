"""Behind a real PgBouncer in transaction mode: two shops' requests interleaved over a pool smaller than the clients.

Each transaction may run on any server connection, so the tenant must be bound inside every transaction; a session
setting would answer one shop's request with the other's rows, or none (see oms/dbbackend/base.py).
"""

import os
import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from oms import rls
from oms.services import create_api_token
from tests.factories import make_tenant
from tests.orders.helpers import place_order, stocked_product
from tests.support import pgbouncer as pooler

pytestmark = pytest.mark.django_db(transaction=True)

POOL_SIZE = 2
CLIENTS = 8
REQUESTS_PER_CLIENT = 30


@pytest.fixture
def pgbouncer_port():
    """PgBouncer in front of this test's database: transaction pooling, `POOL_SIZE` server connections."""
    if not pooler.installed():
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    db = connection.settings_dict
    users = [db["USER"], "postgres"]
    with pooler.pgbouncer(
        host=db["HOST"], port=db["PORT"], dbname=db["NAME"], users=users, pool_size=POOL_SIZE
    ) as port:
        yield port


def shop_with_orders(slug: str, count: int):
    shop = make_tenant(slug, slug.title())
    with rls.tenant_context(shop.pk):
        product = stocked_product(shop, on_hand=1000)
        orders = [place_order(shop, [(product, 1)]) for _ in range(count)]
        _, token = create_api_token(tenant=shop, name="pooler test")
    return {"token": token, "sku": product.sku, "ids": {o.pk for o in orders}}


def test_two_shops_interleaved_over_a_small_transaction_pool(pgbouncer_port, settings):
    shops = [shop_with_orders("pool-a", 3), shop_with_orders("pool-b", 5)]
    direct = dict(connections["default"].settings_dict)
    admin = sorted([direct["USER"], "postgres"])[0]  # the console's admin (tests/support/pgbouncer.py)
    listed = [set(), set()]
    created = [set(), set()]
    failures: list[str] = []
    answered = []
    busiest = [0]
    running = threading.Event()

    def client_work(index: int) -> None:
        try:
            for round_ in range(REQUESTS_PER_CLIENT):
                which = (index + round_) % 2
                own, other = shops[which], shops[1 - which]
                client = Client(HTTP_AUTHORIZATION=f"Bearer {own['token']}")
                if round_ % 5 == 4:  # a write among the reads: intake, then reservation
                    body = {"customer": {"name": f"Client {index}"}, "lines": [{"sku": own["sku"], "quantity": 1}]}
                    response = client.post("/api/v1/orders", body, content_type="application/json")
                    if response.status_code != 201:
                        failures.append(f"create {index}: {response.status_code} {response.content[:200]!r}")
                        continue
                    created[which].add(response.json()["id"])
                    reserved = client.post(f"/api/v1/orders/{response.json()['id']}/reserve")
                    if reserved.status_code != 200 or [ln["reserved"] for ln in reserved.json()["lines"]] != [1]:
                        failures.append(f"reserve {index}: {reserved.status_code} {reserved.content[:200]!r}")
                    continue
                foreign = client.get(f"/api/v1/orders/{sorted(other['ids'])[round_ % len(other['ids'])]}")
                response = client.get("/api/v1/orders?page_size=100")
                if foreign.status_code != 404 or response.status_code != 200:
                    failures.append(f"client {index}: foreign {foreign.status_code}, list {response.status_code}")
                    continue
                ids = {row["id"] for row in response.json()["results"]}
                if not own["ids"] <= ids or ids & other["ids"]:
                    failures.append(f"client {index}: listed {sorted(ids)}, own {sorted(own['ids'])}")
                listed[which] |= ids
                answered.append(1)
        finally:
            connection.close()

    def watch_servers() -> None:
        while running.is_set():
            busiest[0] = max(busiest[0], pooler.server_connections(pgbouncer_port, admin))
            time.sleep(0.02)

    connections.close_all()
    db = connections["default"].settings_dict
    settings.DATABASE_PREPARED_STATEMENTS = False  # as the README says for a transaction pooler
    db.update(HOST="127.0.0.1", PORT=str(pgbouncer_port), NAME="pooled", DISABLE_SERVER_SIDE_CURSORS=True)
    running.set()
    watcher = threading.Thread(target=watch_servers)
    threads = [threading.Thread(target=client_work, args=(i,)) for i in range(CLIENTS)]
    try:
        watcher.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        running.clear()
        watcher.join()
        connections.close_all()
        db.pop("DISABLE_SERVER_SIDE_CURSORS")
        db.update({key: direct[key] for key in ("HOST", "PORT", "NAME")})

    assert failures == []
    assert len(answered) == CLIENTS * REQUESTS_PER_CLIENT * 4 // 5
    for which in (0, 1):  # everything listed was the shop's own: seeded or created by its own clients
        assert listed[which] <= shops[which]["ids"] | created[which]
    assert len(created[0]) + len(created[1]) == CLIENTS * REQUESTS_PER_CLIENT // 5
    assert 0 < busiest[0] <= POOL_SIZE < CLIENTS  # the clients really shared two server connections

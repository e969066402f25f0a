"""Orders at scale: API intake throughput, and the server time of the order list and order pages.

    python bench/orders.py [--orders 1000000] [--customers 200000] [--skip-seed] [--seconds 20] [--clients 8]
                           [--requests 50] [--skip-api] [--skip-pages]

(a) API: gunicorn (`-w 2`) and a Celery worker dispatching the events, both logged in as the application role, on
    a free port >= 8100; `--clients`
    threads each loop POST /api/v1/orders (2 lines) then POST /api/v1/orders/{id}/reserve for `--seconds`.
    Prints orders/s and the p50/p95 latency of each call and of the pair.
(b) Pages, in-process (django.test.Client, cached templates; this process logs in as the application role once
    the data is ready) as a manager of the tenant holding
    `--orders` orders: the order list (no filter, status filters, phone search, page 50), the order page and
    the API order list; p50/p95 over `--requests` requests, SQL queries per page, and the list's query count
    at page sizes 10/50/200. A variant whose p95 misses the aim (list: 150 ms) gets EXPLAIN ANALYZE of its
    slowest query printed.

Production-shaped throughout (bench/common.py): DEBUG off, row-level security forced on every measured connection,
Redis database 6 (or BENCH_REDIS_URL) for cache and broker. The database is `BENCH_DATABASE_URL`, else the server
of `DATABASE_URL` (or 127.0.0.1:5432) with the database
`oms_bench_orders`, created and migrated on first use. The tenant `bulk` is filled by `manage.py seed_bulk` up to
`--orders` unless `--skip-seed`; later runs reuse it (the API phase adds a few thousand orders each time).
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# This file's folder comes first on sys.path when run as a script; drop it, or `import orders` finds this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    PLAIN_STATIC_STORAGES,
    PRODUCTION_ENV,
    as_app_role,
    bench_database_url,
    bench_redis_url,
    ensure_database,
    start_worker,
    stop,
    worker_env,
)
from bench.common import load_average as _load_average  # noqa: E402
from bench.common import setup_django as common_setup  # noqa: E402

TENANT_SLUG = "bulk"
LIST_AIM_MS = 150
EXPLAIN_MS = 50  # a list request over the aim gets its slowest query explained when that query took this long
SLOW_S = 2.0
API_SKUS = 50
BENCH_ENV = PRODUCTION_ENV  # kept under this name for bench/load.py and bench/events.py


def setup_django(url: str) -> None:
    common_setup(url, redis_url=bench_redis_url(6))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def figures(values_ms: list[float]) -> str:
    if not values_ms:
        return "no samples"
    return f"p50 {percentile(values_ms, 0.5):7.1f} ms  p95 {percentile(values_ms, 0.95):7.1f} ms"


def load_average() -> str:
    return _load_average()


# --- data ---------------------------------------------------------------------------------------------------
def seed(orders: int, customers: int, skip: bool):
    from django.core.management import call_command

    from oms.models import Tenant
    from orders.models import Order

    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    have = Order.objects.filter(tenant=tenant).count() if tenant else 0
    missing = orders - have
    if skip or missing <= 0:
        print(f"tenant '{TENANT_SLUG}' has {have:,} orders; not seeding")
    else:
        print(f"seeding {missing:,} orders into tenant '{TENANT_SLUG}' (has {have:,}) ...")
        started = time.monotonic()
        call_command(
            "seed_bulk",
            orders=missing,
            customers=max(1, round(customers * missing / orders)),
            tenant=TENANT_SLUG,
            stdout=sys.stdout,
        )
        print(f"seed time: {time.monotonic() - started:.1f} s for {missing:,} orders (load average {load_average()})")
    tenant = Tenant.objects.get(slug=TENANT_SLUG)
    return tenant


# --- (a) API intake through gunicorn ------------------------------------------------------------------------
def free_port() -> int:
    for port in range(8100, 8200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8100-8199")


def api_token(env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", TENANT_SLUG, "--name", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def api_fixtures(tenant) -> tuple[list[str], list[str]]:
    """SKUs with plenty of available stock in the main warehouse, and phones of existing customers."""
    from django.db.models import F

    from inventory import services as stock
    from inventory.models import Product, StockLevel, Warehouse
    from orders.models import Customer

    warehouse = Warehouse.objects.filter(tenant=tenant).order_by("priority", "pk").first()
    products = list(Product.objects.filter(tenant=tenant, is_active=True).order_by("pk")[:API_SKUS])
    levels = {
        level.product_id: level.on_hand - level.reserved
        for level in StockLevel.objects.filter(tenant=tenant, warehouse=warehouse, product__in=products)
    }
    short = [(p, 200_000 - levels.get(p.pk, 0)) for p in products if levels.get(p.pk, 0) < 100_000]
    if short:
        stock.receive(tenant=tenant, warehouse=warehouse, lines=short, reason="bench top-up")
    assert StockLevel.objects.filter(tenant=tenant, reserved__gt=F("on_hand")).count() == 0
    phones = list(Customer.objects.filter(tenant=tenant).order_by("?").values_list("phone", flat=True)[:2000])
    return [p.sku for p in products], phones


class Client:
    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: dict | None) -> tuple[int, dict, float]:
        data = json.dumps(body or {})
        started = time.perf_counter()
        try:
            self.conn.request("POST", path, body=data, headers=self.headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # gunicorn's sync workers close after each answer; reconnect once
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request("POST", path, body=data, headers=self.headers)
            response = self.conn.getresponse()
            payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, (json.loads(payload) if payload else {}), elapsed


def api_worker(port, token, skus, phones, deadline, warmup_until, results, errors, seed):
    rng = random.Random(seed)
    client = Client(port, token)
    while time.time() < deadline:
        phone = rng.choice(phones) if phones and rng.random() < 0.5 else f"+1 555 {rng.randrange(10**7):07d}"
        body = {
            "channel": rng.choice(["web", "web", "marketplace", "phone"]),
            "customer": {"name": "Bench Customer", "phone": phone},
            "payment": {"method": "card", "status": "paid"},
            "delivery": {"method": "courier", "address": "1 Bench Street"},
            "lines": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(skus, 2)],
        }
        status, order, create_ms = client.post("/api/v1/orders", body)
        if status != 201:
            errors.append(f"create {status} {order}")
            continue
        status, reserved, reserve_ms = client.post(f"/api/v1/orders/{order['id']}/reserve", None)
        if status != 200:
            errors.append(f"reserve {status} {reserved}")
            continue
        if time.time() >= warmup_until:
            results.append((create_ms, reserve_ms, time.time()))


def bench_api(tenant, *, clients: int, seconds: float, url: str, conn_max_age: int | None) -> None:
    env = worker_env(url, os.environ["REDIS_URL"])  # the application role's login, Celery not eager
    if conn_max_age is not None:
        env["CONN_MAX_AGE"] = str(conn_max_age)
    token = api_token(env)
    skus, phones = api_fixtures(tenant)
    port = free_port()
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    log = (out / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "oms.wsgi:application", "-w", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped below by that group's id
    )
    worker = start_worker(env, "orders_worker.log", concurrency=1)  # dispatches the events the API writes
    try:
        wait_until_up(port, server)
        age = env.get("CONN_MAX_AGE", "0 (default)")
        print(
            f"\n(a) API intake: gunicorn -w 2 on 127.0.0.1:{port}, {clients} clients, {seconds:.0f} s, CONN_MAX_AGE {age}"
        )
        results, errors = [], []
        warmup = 2.0
        cpu_at = {}
        start = time.time()
        deadline, warmup_until = start + warmup + seconds, start + warmup
        threads = [
            threading.Thread(
                target=api_worker,
                args=(port, token, skus, phones, deadline, warmup_until, results, errors, n),
                daemon=True,
            )
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, warmup_until - time.time()))
        cpu_at["start"] = process_tree_cpu(server.pid)
        time.sleep(max(0.0, deadline - time.time()))
        cpu_at["end"] = process_tree_cpu(server.pid)
        for thread in threads:
            thread.join()
        measured = [r for r in results if r[2] <= deadline]
        creates = [r[0] for r in measured]
        reserves = [r[1] for r in measured]
        pairs = [r[0] + r[1] for r in measured]
        print(f"    orders created and reserved: {len(measured)} in {seconds:.0f} s = {len(measured) / seconds:.1f}/s")
        print(f"    POST /orders          {figures(creates)}")
        print(f"    POST /orders/id/reserve {figures(reserves)}")
        print(f"    both                  {figures(pairs)}")
        if measured and cpu_at["start"] is not None and cpu_at["end"] is not None:
            per_order = (cpu_at["end"] - cpu_at["start"]) / len(measured) * 1000
            print(f"    gunicorn workers' CPU per order (both calls): {per_order:.1f} ms")
        print(f"    errors: {len(errors)}{' e.g. ' + errors[0][:200] if errors else ''}")
        print(f"    load average: {load_average()}")
    finally:
        stop(worker)
        stop(server)
        log.close()


def process_tree_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process and its children (Linux /proc), or None elsewhere."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent's pid
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total
    except (OSError, ValueError):
        return None


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see bench/out/gunicorn.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/orders/0")
            if conn.getresponse().status in (200, 401, 404):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


# --- (b) pages, in process ----------------------------------------------------------------------------------
def page_client(tenant):
    from django.contrib.auth import get_user_model
    from django.test import Client as TestClient

    from oms.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(username="bench-manager", defaults={"email": "b@bench.test"})
    Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": Role.MANAGER, "is_active": True})
    client = TestClient()
    client.force_login(user)
    session = client.session
    session["tenant_id"] = tenant.pk
    session.save()
    return client


def timed_get(client, path: str, **headers) -> tuple[float, float, list]:
    """Wall and CPU ms of one request, then the same request again with its SQL captured."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(path, **headers)
    elapsed, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(path, **headers)
    return elapsed, cpu, queries.captured_queries


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join("        " + row[0] for row in cursor.fetchall())


def bench_pages(tenant, *, requests: int) -> None:
    from django.db.models import Count
    from django.test import override_settings

    from oms import rls
    from oms.services import create_api_token
    from orders.models import Customer, Order
    from orders.views import lists

    client = page_client(tenant)
    _, raw = create_api_token(tenant=tenant, name="bench-pages")
    total = Order.objects.filter(tenant=tenant).count()
    rng = random.Random(7)
    customer = (
        Customer.objects.filter(tenant=tenant).annotate(n=Count("orders")).filter(n__gte=3).order_by("pk").first()
    )
    # Random orders of the tenant: the first at or after random ids between its lowest and highest.
    low, high = (
        Order.objects.filter(tenant=tenant).order_by(order).values_list("pk", flat=True).first()
        for order in ("pk", "-pk")
    )
    detail_ids = [
        Order.objects.filter(tenant=tenant, pk__gte=rng.randint(low, high))
        .order_by("pk")
        .values_list("pk", flat=True)[0]
        for _ in range(requests)
    ]
    variants = [
        ("list", "/orders/", {}),
        ("list status=delivered", "/orders/?status=delivered", {}),
        ("list status=awaiting-stock", "/orders/?status=awaiting-stock", {}),
        ("list search by phone", "/orders/?" + urlencode({"q": customer.phone}), {}),
        ("list search by 7 digits", "/orders/?" + urlencode({"q": customer.phone[-9:]}), {}),
        ("list page 50", "/orders/?page=50", {}),
        ("list htmx partial", "/orders/?status=delivered", {"HTTP_HX_REQUEST": "true"}),
        ("order page", None, {}),
        ("API GET /orders (with count)", "/api/v1/orders?page_size=50", {"HTTP_AUTHORIZATION": f"Bearer {raw}"}),
    ]
    as_app_role()
    print(f"\n(b) pages, in process, tenant '{TENANT_SLUG}' with {total:,} orders, {requests} requests each")
    print("    wall = server time per request; cpu = this process's CPU for it (what an idle machine would add to")
    print("    sql); sql = the request's query time summed; queries = SQL statements per request")
    with override_settings(STORAGES=PLAIN_STATIC_STORAGES):
        for label, path, headers in variants:
            paths = [f"/orders/{pk}/" for pk in detail_ids] if path is None else [path] * requests
            started = time.perf_counter()
            for warm in paths[:3]:
                client.get(warm, **headers)
            note = ""
            if (time.perf_counter() - started) / 3 > SLOW_S:  # seconds per request: a few samples tell enough
                paths, note = paths[:5], "  (5 samples only: too slow)"
            times, cpus, sqls, counts, slowest = [], [], [], set(), (0.0, "")
            for one in paths:
                elapsed, cpu, queries = timed_get(client, one, **headers)
                times.append(elapsed)
                cpus.append(cpu)
                sqls.append(sum(float(q["time"]) for q in queries) * 1000)
                counts.add(len(queries))
                worst = max(queries, key=lambda q: float(q["time"]))
                if float(worst["time"]) > slowest[0]:
                    slowest = (float(worst["time"]), worst["sql"])
            counts_text = "/".join(str(c) for c in sorted(counts))
            print(
                f"    {label:28} {figures(times)}  cpu p50 {statistics.median(cpus):5.1f} ms  "
                f"sql p50 {statistics.median(sqls):6.1f} ms  queries {counts_text:>5}  "
                f"slowest query {slowest[0] * 1000:6.1f} ms"
            )
            if note:
                print(note)
            if label.startswith("list") and percentile(times, 0.95) > LIST_AIM_MS:
                if slowest[0] * 1000 > EXPLAIN_MS:
                    print(f"      missed the {LIST_AIM_MS} ms aim; EXPLAIN ANALYZE of the slowest query:")
                    with rls.tenant_context(tenant.pk):
                        print(explain(slowest[1]))
                else:
                    print(f"      missed the {LIST_AIM_MS} ms aim, but no query took over {EXPLAIN_MS} ms: Python time")
        # No query per row: the list costs the same number of queries whatever the page size.
        by_size = {}
        original = lists.PAGE_SIZE
        try:
            for size in (10, 50, 200):
                lists.PAGE_SIZE = size
                by_size[size] = len(timed_get(client, "/orders/")[2])
        finally:
            lists.PAGE_SIZE = original
        print(f"    list queries by page size: {by_size}")
        print(f"    load average: {load_average()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument(
        "--conn-max-age", type=int, default=None, help="CONN_MAX_AGE for gunicorn (default: the settings' default)"
    )
    options = parser.parse_args()

    url = bench_database_url("oms_bench_orders")
    ensure_database(url)
    setup_django(url)
    print(f"database {urlsplit(url).path.lstrip('/')}, load average {load_average()}")
    tenant = seed(options.orders, options.customers, options.skip_seed)
    if not options.skip_api:
        bench_api(tenant, clients=options.clients, seconds=options.seconds, url=url, conn_max_age=options.conn_max_age)
    if not options.skip_pages:
        bench_pages(tenant, requests=options.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())

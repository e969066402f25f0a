"""Cost of row-level security on the order list page, on the same data with and without the policies binding.

    python bench/rls.py [--orders 1000000] [--customers 200000] [--requests 60] [--skip-seed]

Production settings (DEBUG off, bench/common.py). "Before": requests run logged in as the table owner (policies do
not bind it) with no tenant binding. "After": the connection logs in as the application role (`oms_app`, as web and
workers do in production: not the owner, no superuser, row-level security forced) and the middleware binds the
tenant, so every query passes the policy. The two alternate request by request (the login switch happens between
requests, outside the timing). Prints p50/p95 server time per page and the overhead, and the load average.
The database is `BENCH_DATABASE_URL`, else `oms_rls_bench` on the server of DATABASE_URL (or 127.0.0.1:5432).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    APP_ROLE,
    PLAIN_STATIC_STORAGES,
    as_app_role,
    as_owner,
    bench_database_url,
    bench_redis_url,
    ensure_database,
    load_average,
    setup_django,
)

OWNER, RLS = "owner, no RLS", "app role, RLS"
TENANT = "bulk"


def timed(client, path: str, count: int, warm: bool = True) -> list[float]:
    if warm:
        client.get(path)  # warm caches and the plan
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()

    url = bench_database_url("oms_rls_bench")
    ensure_database(url)
    setup_django(url, redis_url=bench_redis_url(6))
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    from oms.models import Membership, Role, Tenant
    from oms.services import ensure_user
    from orders.models import Order

    if not args.skip_seed and not Tenant.objects.filter(slug=TENANT).exists():
        call_command("seed_bulk", orders=args.orders, customers=args.customers, tenant=TENANT)
    tenant = Tenant.objects.get(slug=TENANT)
    orders = Order.objects.filter(tenant=tenant).count()
    user = ensure_user(username=f"rls-bench-{time.time_ns()}")
    Membership.objects.create(tenant=tenant, user=user, role=Role.MANAGER)
    sample_order = Order.objects.filter(tenant=tenant).order_by("-pk").values_list("pk", flat=True).first()
    pages = {
        "order list": "/orders/",
        "list, status filter": "/orders/?status=delivered",
        "list, page 20": "/orders/?page=20",
        "order page": f"/orders/{sample_order}/",
    }
    client = Client()
    client.force_login(user)
    session = client.session
    session["tenant_id"] = tenant.pk
    session.save()

    def use(mode: str) -> None:
        if mode == RLS:
            as_app_role(quiet=True)
        else:
            as_owner()
        settings.DATABASE_APP_ROLE = APP_ROLE if mode == RLS else ""
        with connection.cursor() as cursor:  # the new login's connection, made outside the timing
            cursor.execute("SELECT 1")

    as_app_role()  # checks the application role's login once, loudly
    # Interleaved, one request of each mode in turn, so drift in machine load hits both alike.
    results = {(mode, label): [] for mode in (OWNER, RLS) for label in pages}
    with override_settings(STORAGES=PLAIN_STATIC_STORAGES):
        for label, path in pages.items():
            for mode in (OWNER, RLS):
                use(mode)
                client.get(path)  # warm the plan for this login
            for _ in range(args.requests):
                for mode in (OWNER, RLS):
                    use(mode)
                    results[(mode, label)].extend(timed(client, path, 1, warm=False))
    use(OWNER)

    print(f"\n{orders:,} orders in tenant '{TENANT}', {args.requests} requests per page, DEBUG off\n")
    print(f"{'page':22} {'no RLS p50/p95 ms':>20} {'RLS p50/p95 ms':>18} {'overhead p50':>13}")
    for label in pages:
        before, after = results[(OWNER, label)], results[(RLS, label)]
        overhead = (statistics.median(after) / statistics.median(before) - 1) * 100
        print(
            f"{label:22} {statistics.median(before):9.1f} / {p95(before):6.1f} "
            f"{statistics.median(after):9.1f} / {p95(after):6.1f} {overhead:12.1f}%"
        )
    print(f"\nload average {load_average()}")


if __name__ == "__main__":
    main()

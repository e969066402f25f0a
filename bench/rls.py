"""Cost of row-level security on the order list page, on the same data with and without the policies binding.

    python bench/rls.py [--orders 1000000] [--customers 200000] [--requests 60] [--skip-seed]

"Before": requests run as the table owner (policies do not bind it). "After": the connection drops to the
application role (`SET ROLE`, as `DATABASE_APP_ROLE` does in production) and the middleware binds the tenant,
so every query passes the policy. Prints p50/p95 server time per page and the overhead.
The database is `BENCH_DATABASE_URL`, else `oms_rls_bench` on the server of DATABASE_URL (or 127.0.0.1:5432).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database_url, ensure_database  # noqa: E402

APP_ROLE = "oms_app_bench"
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
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="oms.settings", LOG_LEVEL="WARNING", AXES_ENABLED="0")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from oms import rls
    from oms.models import Membership, Role, Tenant
    from orders.models import Order
    from tests.factories import UserFactory

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    if not args.skip_seed and not Tenant.objects.filter(slug=TENANT).exists():
        call_command("seed_bulk", orders=args.orders, customers=args.customers, tenant=TENANT)
    tenant = Tenant.objects.get(slug=TENANT)
    orders = Order.objects.filter(tenant=tenant).count()
    user = UserFactory(username=f"rls-bench-{time.time_ns()}")
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

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS")
        for statement in rls.grant_sql(APP_ROLE):
            cursor.execute(statement)

    def use(mode: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}" if mode == RLS else "RESET ROLE")
        settings.DATABASE_APP_ROLE = APP_ROLE if mode == RLS else ""

    # Interleaved, one request of each mode in turn, so drift in machine load hits both alike.
    results = {(mode, label): [] for mode in (OWNER, RLS) for label in pages}
    for label, path in pages.items():
        for mode in (OWNER, RLS):
            use(mode)
            client.get(path)  # warm the plan for this role
        for _ in range(args.requests):
            for mode in (OWNER, RLS):
                use(mode)
                results[(mode, label)].extend(timed(client, path, 1, warm=False))
    use(OWNER)

    print(f"\n{orders:,} orders in tenant '{TENANT}', {args.requests} requests per page\n")
    print(f"{'page':22} {'no RLS p50/p95 ms':>20} {'RLS p50/p95 ms':>18} {'overhead p50':>13}")
    for label in pages:
        before, after = results[(OWNER, label)], results[(RLS, label)]
        overhead = (statistics.median(after) / statistics.median(before) - 1) * 100
        print(
            f"{label:22} {statistics.median(before):9.1f} / {p95(before):6.1f} "
            f"{statistics.median(after):9.1f} / {p95(after):6.1f} {overhead:12.1f}%"
        )


if __name__ == "__main__":
    main()

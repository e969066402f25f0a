"""Server time per item scan at the packing station, in a tenant with 100,000 orders.

    python bench/scan.py [--orders 100000] [--scans 600]

Each scan is the real request a packer's scanner sends: an htmx POST to the packing station through the whole
Django stack (middleware, session, tenant, role check, the scan service with its row lock, the re-rendered
station partial), timed in-process, so the figure is server time without network. The orders scanned are spread
over the tenant's 100,000 and packed to completion (the last scan also verifies packing and moves the status).
Also printed: queries per scan, and the refused scan (wrong item) that changes nothing.

Production-shaped: DEBUG off, the requests' connection logged in as the application role with row-level security
forced (the middleware binds the tenant), events published to Redis (database 6 unless BENCH_REDIS_URL) and
dispatched by a real Celery worker running beside the scans, as they would be in the warehouse.

The database is `BENCH_DATABASE_URL` when set, else the server of `DATABASE_URL` (or 127.0.0.1:5432) with the
database `oms_bench_scan`, created and migrated on first use; the data (tenant `bench-scan`) is built once (as the
owner) and reused.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    add_packable_orders,
    as_app_role,
    bench_database_url,
    bench_redis_url,
    ensure_database,
    load_average,
    setup_django,
    start_worker,
    stop,
    worker_env,
)

TENANT_SLUG = "bench-scan"
PRODUCTS = 200
AIM_MS = 30


def build_data(order_count: int):
    """Tenant, products, one packer and `order_count` orders in assembly with 1-3 lines of 1-3 units each."""
    from decimal import Decimal

    from inventory.models import Product
    from oms.models import Membership, Role, Tenant
    from oms.services import create_tenant, ensure_user
    from orders.models import Order

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first() or create_tenant(slug=TENANT_SLUG, name="Bench scan")
    user = ensure_user(username="bench-packer", password="")
    Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": Role.PACKER})
    have = Order.objects.filter(tenant=tenant).count()
    if have >= order_count:
        return tenant, user
    print(f"building {order_count - have} orders (once) ...")
    products = list(Product.objects.filter(tenant=tenant))
    if not products:
        products = Product.objects.bulk_create(
            [
                Product(
                    tenant=tenant,
                    sku=f"B-{i:04d}",
                    name=f"Bench product {i}",
                    price=Decimal("9.90"),
                    barcode=f"29{i:011d}",
                )
                for i in range(PRODUCTS)
            ]
        )
    add_packable_orders(tenant, products, have, order_count, first_number=500000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # plans as on a shop whose statistics autovacuum keeps
    return tenant, user


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=600)
    args = parser.parse_args()

    url = bench_database_url("oms_bench_scan")
    redis_url = bench_redis_url(6)
    ensure_database(url)
    setup_django(url, redis_url=redis_url)

    from orders.models import Group, Order, OrderLine

    tenant, user = build_data(args.orders)
    print(f"tenant {tenant.slug}: {Order.objects.filter(tenant=tenant).count():,} orders")
    candidates = list(
        Order.objects.filter(tenant=tenant, group=Group.ASSEMBLY, packing_verified_at__isnull=True)
        .order_by("?")
        .values_list("pk", flat=True)[: args.scans]
    )
    codes_of = {}
    for line in OrderLine.objects.filter(order_id__in=candidates).select_related("product").order_by("pk"):
        codes_of.setdefault(line.order_id, []).extend([line.product.barcode] * line.quantity)
    worker = start_worker(worker_env(url, redis_url), "scan_worker.log", concurrency=1)
    try:
        return measure(args, user, tenant, candidates, codes_of)
    finally:
        stop(worker)


def measure(args, user, tenant, candidates, codes_of) -> int:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    as_app_role()
    statements = []

    def count(execute, sql, params, many, context):  # cheaper than CaptureQueriesContext, which logs every query
        statements.append(sql)
        return execute(sql, params, many, context)

    client = Client()
    client.force_login(user)
    session = client.session
    session["tenant_id"] = tenant.pk
    session.save()

    timings, cpu_times, queries, kinds, completions = [], [], [], [], 0
    refused = []
    for order_id in candidates:
        if len(timings) >= args.scans:
            break
        url_scan = reverse("shipments:packing_scan", args=[order_id])
        for code in codes_of[order_id]:
            statements.clear()
            with connection.execute_wrapper(count):
                started, cpu = time.perf_counter(), time.process_time()
                response = client.post(url_scan, {"code": code}, HTTP_HX_REQUEST="true", secure=True)
                timings.append((time.perf_counter() - started) * 1000)
                cpu_times.append((time.process_time() - cpu) * 1000)
            queries.append(len(statements))
            kinds.append("complete" if "packing-complete" in response.get("HX-Trigger", "") else "item")
            assert response.status_code == 200 and "scan-error" not in response["HX-Trigger"], response.content[:300]
        completions += "packing-complete" in response["HX-Trigger"]
        started = time.perf_counter()
        response = client.post(url_scan, {"code": "NO-SUCH-CODE"}, HTTP_HX_REQUEST="true", secure=True)
        refused.append((time.perf_counter() - started) * 1000)
    print(f"{len(timings)} item scans over {completions} orders packed to completion")
    print(
        f"server time per scan: p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, "
        f"p99 {percentile(timings, 0.99):.1f} ms, max {max(timings):.1f} ms"
    )
    for kind in ("item", "complete"):
        subset = [t for t, k in zip(timings, kinds, strict=True) if k == kind]
        label = "scans that count a unit" if kind == "item" else "scans that complete the order"
        print(
            f"  {label}: {len(subset)}, p50 {statistics.median(subset):.1f} ms, p95 {percentile(subset, 0.95):.1f} ms"
        )
    cpu50, cpu95 = statistics.median(cpu_times), percentile(cpu_times, 0.95)
    print(f"of which Python CPU in this process: p50 {cpu50:.1f} ms, p95 {cpu95:.1f} ms")
    print(f"load average during the run: {load_average()}")
    print(f"queries per scan: median {statistics.median(queries):.0f}, max {max(queries)}")
    print(
        f"refused scan (a packed order): p50 {statistics.median(refused):.1f} ms, "
        f"p95 {percentile(refused, 0.95):.1f} ms"
    )
    print(f"target: p95 under {AIM_MS} ms —", "met" if percentile(timings, 0.95) < AIM_MS else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

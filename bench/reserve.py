"""Reservations per second on PostgreSQL: our service path against the machine's raw ceiling.

    python bench/reserve.py [--workers 16] [--seconds 5] [--skus 1000]

Four timed phases, each with the same number of worker processes (each with its own connection):

* ours/hot     - `inventory.services.reserve` of 1 unit, every worker on one SKU; called on its own, the service is
                 one statement and its own transaction (also shown: the same call inside `transaction.atomic`,
                 as when it is one step of a bigger change, which adds BEGIN and COMMIT round trips while the row
                 stays locked)
* raw/hot      - the bare `UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s AND
                 reserved < on_hand` loop with psycopg in autocommit, on the same stock row
* ours/spread  - as ours/hot, each reservation on a random one of `--skus` SKUs
* raw/spread   - as raw/hot, spread the same way

The database is `BENCH_DATABASE_URL` when set, else the server of `DATABASE_URL` (or 127.0.0.1:5432) with the
database `oms_bench`, created and migrated on first use; the data (tenant `bench`) is built once and reused.
"""

import argparse
import os
import random
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database_url, ensure_database  # noqa: E402

TENANT_SLUG = "bench"
ON_HAND = 1_000_000
RAW_SQL = "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s AND reserved < on_hand"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production: with DEBUG on, Django keeps every query in memory, which is not what we measure.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    import django

    django.setup()


def build_data(workers: int, skus: int) -> dict:
    """Tenant, one warehouse, `skus` products with stock, and per worker one order with a line per product."""
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from inventory import services as stock
    from inventory.models import Product, Reservation, StockLevel, Warehouse
    from oms.actors import Actor
    from oms.models import Tenant
    from oms.services import create_tenant
    from orders.models import Order, OrderLine
    from orders.services.intake import LineInput, OrderInput, create_order

    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first() or create_tenant(slug=TENANT_SLUG, name="Bench")
    warehouse = Warehouse.objects.filter(tenant=tenant, code="MAIN").first() or stock.create_warehouse(
        tenant=tenant, code="MAIN", name="Main"
    )
    have = Product.objects.filter(tenant=tenant).count()
    if have < skus:
        Product.objects.bulk_create(
            [
                Product(tenant=tenant, sku=f"B-{i:05d}", name=f"Bench product {i}", price=Decimal("1.00"))
                for i in range(have, skus)
            ]
        )
    products = list(Product.objects.filter(tenant=tenant).order_by("sku")[:skus])
    missing = [p for p in products if not StockLevel.objects.filter(product=p, warehouse=warehouse).exists()]
    if missing:
        stock.receive(tenant=tenant, warehouse=warehouse, lines=[(p, ON_HAND) for p in missing], reason="bench")

    # One order per worker with a line for every product (bulk: the order path is not what is measured).
    lines_by_worker = []
    orders = list(Order.objects.filter(tenant=tenant, external_id__startswith="bench-").order_by("pk"))
    for w in range(len(orders), workers):
        orders.append(
            create_order(
                tenant=tenant,
                data=OrderInput(
                    customer_name="Bench",
                    external_id=f"bench-{w}",
                    lines=[LineInput(sku=products[0].sku, quantity=1)],
                ),
                actor=Actor.system("bench"),
            )
        )
    for order in orders[:workers]:
        have_products = set(OrderLine.objects.filter(order=order).values_list("product_id", flat=True))
        OrderLine.objects.bulk_create(
            [
                OrderLine(tenant=tenant, order=order, product=p, quantity=1_000_000, price=p.price)
                for p in products
                if p.pk not in have_products
            ]
        )
        lines_by_worker.append(dict(OrderLine.objects.filter(order=order).values_list("product_id", "pk")))

    # Start from a clean slate: nothing reserved.
    Reservation.objects.filter(tenant=tenant).delete()
    StockLevel.objects.filter(tenant=tenant).update(reserved=0, on_hand=ON_HAND)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE inventory_stocklevel")
        cursor.execute("VACUUM ANALYZE inventory_reservation")
    levels = dict(StockLevel.objects.filter(tenant=tenant, warehouse=warehouse).values_list("product_id", "pk"))
    return {
        "tenant_id": tenant.pk,
        "product_ids": [p.pk for p in products],
        "level_ids": [levels[p.pk] for p in products],
        "lines_by_worker": lines_by_worker,
    }


def ours_worker(args):
    worker, data, hot, start_at, seconds, in_transaction = args
    from django.db import connections, transaction

    from inventory import services as stock
    from oms import rls
    from oms.models import Tenant

    tenant = Tenant.objects.get(pk=data["tenant_id"])
    rls.set_tenant(tenant.pk)  # when row-level security is on (DATABASE_APP_ROLE), as a request would
    lines = data["lines_by_worker"][worker]
    product_ids = data["product_ids"]
    rng = random.Random(worker)
    done = 0
    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + seconds
    while time.time() < deadline:
        product_id = product_ids[0] if hot else rng.choice(product_ids)
        demands = [stock.Demand(lines[product_id], product_id, 1)]
        if in_transaction:
            with transaction.atomic():
                reserved = stock.reserve(tenant=tenant, demands=demands)
        else:
            reserved = stock.reserve(tenant=tenant, demands=demands)
        done += sum(reserved.values())
    connections.close_all()
    return done


def raw_worker(args):
    worker, data, hot, start_at, seconds, url = args
    import psycopg

    level_ids = data["level_ids"]
    rng = random.Random(worker)
    done = 0
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.cursor()
        time.sleep(max(0.0, start_at - time.time()))
        deadline = start_at + seconds
        while time.time() < deadline:
            level_id = level_ids[0] if hot else rng.choice(level_ids)
            cursor.execute(RAW_SQL, [level_id])
            done += cursor.rowcount
    return done


def run_phase(pool, worker, workers: int, args_for) -> int:
    start_at = time.time() + 1.0  # every worker connected and waiting before the clock starts
    results = pool.map(worker, [args_for(w, start_at) for w in range(workers)])
    return sum(results)


def vacuum(url: str) -> None:
    """Start every phase from the same table state: the hot row collects dead versions quickly."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM inventory_stocklevel")
        conn.execute("VACUUM inventory_reservation")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="each phase runs this many times, alternating")
    options = parser.parse_args()

    url = bench_database_url("oms_bench")
    ensure_database(url)
    setup_django(url)
    from django.db import connections

    began = time.time()
    data = build_data(options.workers, options.skus)
    print(
        f"database {urlsplit(url).path.lstrip('/')}, {options.workers} worker processes, "
        f"{options.rounds} x {options.seconds:.0f} s per figure, {os.cpu_count()} CPUs"
    )
    print(f"data ready in {time.time() - began:.1f} s")
    connections.close_all()  # the children must not share the parent's connection

    n, secs = options.workers, options.seconds
    paths = ("ours", "ours in transaction", "raw")
    done = {(mode, path): 0 for mode in ("hot", "spread") for path in paths}
    with get_context("fork").Pool(n) as pool:
        # Alternate the paths, twice over, so a noisy neighbour on the machine hurts both alike.
        for _ in range(options.rounds):
            for mode in ("hot", "spread"):
                hot = mode == "hot"
                for path, in_transaction in (("ours", False), ("ours in transaction", True)):
                    vacuum(url)
                    done[mode, path] += run_phase(
                        pool, ours_worker, n, lambda w, t, hot=hot, tx=in_transaction: (w, data, hot, t, secs, tx)
                    )
                vacuum(url)
                done[mode, "raw"] += run_phase(pool, raw_worker, n, lambda w, t, hot=hot: (w, data, hot, t, secs, url))
    elapsed = secs * options.rounds
    print()
    print(f"{'':10}{'ours /s':>10}{'raw /s':>10}{'ratio':>8}{'in transaction /s':>20}{'ratio':>8}")
    for mode, label in (("hot", "hot SKU"), ("spread", f"{options.skus} SKUs")):
        ours, raw = done[mode, "ours"] / elapsed, done[mode, "raw"] / elapsed
        in_tx = done[mode, "ours in transaction"] / elapsed
        print(f"{label:10}{ours:10.0f}{raw:10.0f}{ours / raw:8.2f}{in_tx:20.0f}{in_tx / raw:8.2f}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # Our path must have written a reservation for every unit it counted, no more and no less.
    from django.db.models import Sum

    from inventory.models import Reservation

    held = Reservation.objects.filter(tenant_id=data["tenant_id"]).aggregate(s=Sum("quantity"))["s"] or 0
    counted = sum(units for (_, path), units in done.items() if path != "raw")
    print(f"\nreservations written by ours: {held} units, counted {counted}: {'ok' if held == counted else 'MISMATCH'}")
    print(f"total {time.time() - began:.0f} s")
    return 0 if held == counted else 1


if __name__ == "__main__":
    sys.exit(main())

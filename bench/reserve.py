"""Reservations per second on PostgreSQL: our service path against a bare-SQL ceiling doing the same writes.

    python bench/reserve.py [--workers 16] [--seconds 4] [--skus 1000] [--rounds 2]

A reservation of one unit of an order line writes three rows: the stock level's `reserved`, the line's reservation
row (`inventory_reservation`, added to when it exists) and the order line's `reserved`. Three timed paths, each
with the same number of worker processes (each with its own connection), all logged in as the application role
with row-level security forced and the shop bound, DEBUG off:

* ours     - `inventory.services.reserve` of 1 unit (the stock level and the reservation row, one statement) and
             the order line's `reserved` update, in one transaction, as `orders.services.reservations` does
* raw      - the ceiling: one bare SQL statement doing the same three writes (the stock level known by id, no
             warehouse choice), psycopg in autocommit
* raw, 3 statements in a transaction - the same writes as ours's shape: BEGIN, three bare statements, COMMIT

each run on one hot SKU (every worker on the same stock row) and spread over `--skus` SKUs.

The database is `BENCH_DATABASE_URL` when set, else the server of `DATABASE_URL` (or 127.0.0.1:5432) with the
database `oms_bench`, created and migrated on first use; the data (tenant `bench`) is built once and reused.
"""

import argparse
import random
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    app_role_url,
    as_app_role,
    as_owner,
    bench_database_url,
    ensure_database,
    load_average,
    setup_django,
)

TENANT_SLUG = "bench"
ON_HAND = 1_000_000
# The three writes of a reservation of one unit, as one statement: the ceiling.
RAW_SQL = """
WITH taken AS (
    UPDATE inventory_stocklevel SET reserved = reserved + 1
    WHERE id = %(level)s AND reserved + 1 <= on_hand
    RETURNING warehouse_id, product_id
), held AS (
    INSERT INTO inventory_reservation (tenant_id, line_id, warehouse_id, product_id, quantity, created_at)
    SELECT %(tenant)s, %(line)s, warehouse_id, product_id, 1, now() FROM taken
    ON CONFLICT (tenant_id, line_id, warehouse_id) DO UPDATE SET quantity = inventory_reservation.quantity + 1
), line AS (
    UPDATE orders_orderline SET reserved = reserved + 1 WHERE id = %(line)s AND EXISTS (SELECT 1 FROM taken)
)
SELECT count(*) FROM taken
"""
RAW_STEPS = (
    "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %(level)s AND reserved + 1 <= on_hand "
    "RETURNING warehouse_id, product_id",
    "INSERT INTO inventory_reservation (tenant_id, line_id, warehouse_id, product_id, quantity, created_at) "
    "VALUES (%(tenant)s, %(line)s, %(warehouse)s, %(product)s, 1, now()) ON CONFLICT (tenant_id, line_id, "
    "warehouse_id) DO UPDATE SET quantity = inventory_reservation.quantity + 1",
    "UPDATE orders_orderline SET reserved = reserved + 1 WHERE id = %(line)s",
)


def build_data(workers: int, skus: int) -> dict:
    """Tenant, one warehouse, `skus` products with stock, and per worker one order with a line per product."""
    from decimal import Decimal

    from django.db import connection

    from inventory import services as stock
    from inventory.models import Product, Reservation, StockLevel, Warehouse
    from oms.actors import Actor
    from oms.models import Tenant
    from oms.services import create_tenant
    from orders.models import Order, OrderLine
    from orders.services.intake import LineInput, OrderInput, create_order

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
    OrderLine.objects.filter(tenant=tenant, order__in=orders[:workers]).update(reserved=0, quantity=ON_HAND)
    with connection.cursor() as cursor:
        for table in ("inventory_stocklevel", "inventory_reservation", "orders_orderline"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    levels = dict(StockLevel.objects.filter(tenant=tenant, warehouse=warehouse).values_list("product_id", "pk"))
    return {
        "tenant_id": tenant.pk,
        "product_ids": [p.pk for p in products],
        "level_ids": [levels[p.pk] for p in products],
        "lines_by_worker": lines_by_worker,
    }


def ours_worker(args):
    worker, data, hot, start_at, seconds = args
    from django.db import connections, transaction
    from django.db.models import F

    from inventory import services as stock
    from oms import rls
    from oms.models import Tenant
    from orders.models import OrderLine

    tenant = Tenant.objects.get(pk=data["tenant_id"])
    rls.bind(tenant.pk)  # as the middleware binds a request's connection
    lines = data["lines_by_worker"][worker]
    product_ids = data["product_ids"]
    rng = random.Random(worker)
    done = 0
    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + seconds
    while time.time() < deadline:
        product_id = product_ids[0] if hot else rng.choice(product_ids)
        line_id = lines[product_id]
        with transaction.atomic():  # as orders.services.reservations: the stock, then the line's count
            reserved = stock.reserve(tenant=tenant, demands=[stock.Demand(line_id, product_id, 1)])
            for line, units in reserved.items():
                OrderLine.objects.filter(pk=line).update(reserved=F("reserved") + units)
        done += sum(reserved.values())
    connections.close_all()
    return done


def raw_worker(args):
    worker, data, hot, start_at, seconds, url, steps = args
    import psycopg

    level_ids, product_ids = data["level_ids"], data["product_ids"]
    lines = data["lines_by_worker"][worker]
    rng = random.Random(worker)
    done = 0
    with psycopg.connect(url, autocommit=not steps) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT set_config('app.tenant_id', %s, false)", [str(data["tenant_id"])])
        conn.commit()
        time.sleep(max(0.0, start_at - time.time()))
        deadline = start_at + seconds
        while time.time() < deadline:
            n = 0 if hot else rng.randrange(len(level_ids))
            values = {"level": level_ids[n], "tenant": data["tenant_id"], "line": lines[product_ids[n]]}
            if not steps:
                cursor.execute(RAW_SQL, values)
                done += cursor.fetchone()[0]
                continue
            cursor.execute(RAW_STEPS[0], values)
            row = cursor.fetchone()
            if row:
                values.update(warehouse=row[0], product=row[1])
                cursor.execute(RAW_STEPS[1], values)
                cursor.execute(RAW_STEPS[2], values)
                done += 1
            conn.commit()
    return done


def run_phase(pool, worker, workers: int, args_for) -> int:
    start_at = time.time() + 1.0  # every worker connected and waiting before the clock starts
    results = pool.map(worker, [args_for(w, start_at) for w in range(workers)])
    return sum(results)


def vacuum(url: str) -> None:
    """Start every phase from the same table state: the hot row collects dead versions quickly."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("inventory_stocklevel", "inventory_reservation", "orders_orderline"):
            conn.execute(f"VACUUM {table}")


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
        f"{options.rounds} x {options.seconds:.0f} s per figure, load average {load_average()}"
    )
    print(f"data ready in {time.time() - began:.1f} s")
    as_app_role()  # checks the login; the children connect anew as the application role
    connections.close_all()  # the children must not share the parent's connection
    app_url = app_role_url(url)

    n, secs = options.workers, options.seconds
    paths = ("ours", "raw", "raw in transaction")
    done = {(mode, path): 0 for mode in ("hot", "spread") for path in paths}
    with get_context("fork").Pool(n) as pool:
        # Alternate the paths, twice over, so a noisy neighbour on the machine hurts all alike.
        for _ in range(options.rounds):
            for mode in ("hot", "spread"):
                hot = mode == "hot"
                vacuum(url)
                done[mode, "ours"] += run_phase(pool, ours_worker, n, lambda w, t, hot=hot: (w, data, hot, t, secs))
                for path, steps in (("raw", False), ("raw in transaction", True)):
                    vacuum(url)
                    done[mode, path] += run_phase(
                        pool, raw_worker, n, lambda w, t, hot=hot, s=steps: (w, data, hot, t, secs, app_url, s)
                    )
    elapsed = secs * options.rounds
    print("\nreservations of one unit per second (each: stock level, reservation row, order line)")
    print(f"{'':10}{'ours /s':>10}{'raw /s':>10}{'ratio':>8}{'raw, 3 statements in a transaction /s':>40}")
    for mode, label in (("hot", "hot SKU"), ("spread", f"{options.skus} SKUs")):
        ours, raw = done[mode, "ours"] / elapsed, done[mode, "raw"] / elapsed
        raw_tx = done[mode, "raw in transaction"] / elapsed
        print(f"{label:10}{ours:10.0f}{raw:10.0f}{ours / raw:8.2f}{raw_tx:40.0f}")
    print(f"load average {load_average()}")

    # Our path must have written a reservation for every unit it counted, no more and no less.
    from django.db.models import Sum

    from inventory.models import Reservation
    from orders.models import OrderLine

    as_owner()
    held = Reservation.objects.filter(tenant_id=data["tenant_id"]).aggregate(s=Sum("quantity"))["s"] or 0
    on_lines = OrderLine.objects.filter(tenant_id=data["tenant_id"]).aggregate(s=Sum("reserved"))["s"] or 0
    counted = sum(done.values())
    ok = held == counted == on_lines
    print(
        f"\nunits counted {counted}, in reservation rows {held}, on order lines {on_lines}: {'ok' if ok else 'MISMATCH'}"
    )
    print(f"total {time.time() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

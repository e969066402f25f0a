"""Event dispatch: how many events one worker process dispatches per second, and how long a webhook takes to arrive.

    python bench/events.py [--events 2000] [--rate 50] [--seconds 20] [--threads 4]

Production-shaped on loopback: real Celery workers (not eager) log in as the application role with row-level
security forced, DEBUG off, against their own database `oms_bench_events` (on the server of DATABASE_URL, or
BENCH_DATABASE_URL) and Redis database 13.

1. Throughput: `--events` `order.created` events of real orders are written to the outbox and each asks for a
   dispatch as intake does after commit; then ONE worker process (`--pool solo`, queue `events`) is started.
   Printed: events dispatched per second (first to last dispatch, so worker start-up does not count).
2. Lag: a webhook endpoint on a local receiver subscribes to `order.created`; an events worker (one process) and an
   io worker run while `--threads` threads create orders through the intake service at `--rate` orders/s for
   `--seconds`. Printed: time from the event's commit to the webhook's arrival, p50/p95/max, and how far behind
   the last one was.
3. Where the time goes: one event's dispatch and one webhook delivery run in this process, their SQL statements
   counted and timed by subscriber.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.common import as_app_role, bench_database_url, ensure_database  # noqa: E402
from bench.load import OUT, Receiver, app_env, setup_django, start, stop  # noqa: E402
from bench.orders import load_average, percentile, process_tree_cpu  # noqa: E402

TENANT = "events-bench"
SKUS = 20


def prepare():
    from django.core.management import call_command

    from inventory import services as stock
    from inventory.models import Product, Warehouse
    from notifications.models import WebhookEndpoint
    from oms import rls
    from oms.models import Tenant
    from oms.services import create_tenant

    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.filter(slug=TENANT).first() or create_tenant(slug=TENANT, name="Events bench")
    with rls.tenant_context(tenant.pk):
        WebhookEndpoint.objects.filter(tenant=tenant).delete()
        warehouse = Warehouse.objects.filter(tenant=tenant).first() or Warehouse.objects.create(
            tenant=tenant, code="MAIN", name="Main"
        )
        products = [
            Product.objects.get_or_create(tenant=tenant, sku=f"EV-{n}", defaults={"name": f"Item {n}", "price": 10})[0]
            for n in range(SKUS)
        ]
        stock.receive(tenant=tenant, warehouse=warehouse, lines=[(p, 1_000_000) for p in products], reason="bench")
    return tenant


def new_order(tenant, n: int):
    from oms.actors import Actor
    from orders.services.intake import LineInput, OrderInput, create_order

    return create_order(
        tenant=tenant,
        data=OrderInput(
            customer_name=f"Bench {n}",
            customer_phone=f"+1555{n % 10_000_000:07d}",
            lines=[LineInput(sku=f"EV-{n % SKUS}", quantity=1)],
        ),
        actor=Actor.system("bench"),
    )


def worker(env, queue: str, log: str, *, pool: str = "solo", concurrency: int = 1) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "oms", "worker", "-l", "WARNING", "-Q", queue, "-P", pool]
    command += ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return start(command, env, log)


def throughput(tenant, env, events: int) -> float:
    from oms import rls
    from oms.event_catalogue import OrderCreated
    from oms.events import outbox_row
    from oms.models import Event

    with rls.tenant_context(tenant.pk):
        orders = [new_order(tenant, n) for n in range(50)]
        rows = Event.objects.bulk_create(
            [
                outbox_row(
                    tenant_id=tenant.pk,
                    event=OrderCreated(
                        order_id=o.pk, number=o.number, channel=o.channel, status=o.status.code, total=str(o.total)
                    ),
                )
                for o in (orders[n % len(orders)] for n in range(events))
            ]
        )
    # Drop what creating the orders queued: only the measured events are on the queue.
    from oms.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("events")
    ids = [row.pk for row in rows]
    from django.core.cache import cache

    from oms import events

    cache.delete(events.kick_key(tenant.pk))
    for _ in ids:  # as intake does after each commit: the first asks for a dispatch, the rest see it queued
        events.kick(tenant.pk)
    process = worker(env, "events", "events_throughput.log")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with rls.tenant_context(tenant.pk):
                left = Event.objects.filter(pk__in=ids, dispatched_at__isnull=True).count()
            if not left:
                break
            time.sleep(0.5)
    finally:
        stop(process)
    with rls.tenant_context(tenant.pk):
        times = sorted(Event.objects.filter(pk__in=ids).values_list("dispatched_at", flat=True))
    if None in times:
        raise RuntimeError("not every event was dispatched within 10 minutes")
    span = (times[-1] - times[0]).total_seconds()
    return (len(times) - 1) / span if span else float("inf")


def lag(tenant, env, *, rate: int, seconds: int, threads: int):
    from notifications.services.webhooks import create_endpoint
    from oms import rls

    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with rls.tenant_context(tenant.pk):
        create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"], description="bench receiver")
    events_worker = worker(env, "events", "events_lag_worker.log")
    io_worker = worker(env, "io", "events_lag_io.log", pool="threads", concurrency=8)
    time.sleep(4)  # both workers up
    created = []
    errors = []

    def produce(offset: int):
        from django.db import connections

        interval = threads / rate
        start_at = time.monotonic()
        n = offset
        try:
            while time.monotonic() - start_at < seconds:
                with rls.tenant_context(tenant.pk):
                    new_order(tenant, 100_000 + n)
                created.append(n)
                n += threads
                pause = start_at + (n - offset) / threads * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        except Exception as exc:  # noqa: BLE001 - reported
            errors.append(exc)
        finally:
            connections.close_all()

    producers = [threading.Thread(target=produce, args=(k,)) for k in range(threads)]
    from django.utils import timezone

    from oms.models import Event

    phase_start = timezone.now()
    cpu_before = sum(process_tree_cpu(w.pid) or 0.0 for w in (events_worker, io_worker))
    began = time.monotonic()
    [p.start() for p in producers]
    [p.join() for p in producers]
    produced_in = time.monotonic() - began
    deadline = time.monotonic() + 120
    while len(receiver.lags) < len(created) and time.monotonic() < deadline:
        time.sleep(0.2)
    worker_cpu = sum(process_tree_cpu(w.pid) or 0.0 for w in (events_worker, io_worker)) - cpu_before
    stop(events_worker)
    stop(io_worker)
    receiver.shutdown()
    with rls.tenant_context(tenant.pk):
        dispatch_lags = [
            (done - made).total_seconds()
            for made, done in Event.objects.filter(
                created_at__gte=phase_start, dispatched_at__isnull=False
            ).values_list("created_at", "dispatched_at")
        ]
    lags = [lag for _, lag in receiver.lags]
    return len(created), produced_in, lags, dispatch_lags, worker_cpu, errors


def where_time_goes(tenant):
    from django.db import connection

    from notifications.models import WebhookDelivery
    from notifications.services import webhooks
    from oms import events, rls
    from oms.models import Event

    statements = []

    def count(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql.split()[0], time.perf_counter() - started))

    with rls.tenant_context(tenant.pk):
        order = new_order(tenant, 999_999)
        event = Event.objects.filter(kind="order.created", payload__order_id=order.pk).latest("pk")
        Event.objects.filter(pk=event.pk).update(dispatched_at=None, next_attempt_at=event.created_at)
        from oms.models import EventHandled

        EventHandled.objects.filter(event=event).delete()
        WebhookDelivery.objects.filter(message__event_id=event.pk).delete()
        per_subscriber = {}
        originals = {kind: list(pairs) for kind, pairs in events._subscribers.items()}

        def timed(name, handler):
            def run(event):
                before, started = len(statements), time.perf_counter()
                try:
                    handler(event)
                finally:
                    per_subscriber[name] = (len(statements) - before, (time.perf_counter() - started) * 1000)

            return run

        for kind, pairs in originals.items():
            events._subscribers[kind] = [(name, timed(name, handler)) for name, handler in pairs]
        try:
            with connection.execute_wrapper(count):
                started = time.perf_counter()
                events.dispatch(event.pk, tenant.pk)
                dispatch_ms = (time.perf_counter() - started) * 1000
        finally:
            events._subscribers.update(originals)
        dispatch_statements = len(statements)
        delivery = WebhookDelivery.objects.filter(message__event_id=event.pk).first()
        statements.clear()
        deliver_ms = None
        if delivery is not None:
            with connection.execute_wrapper(count):
                started = time.perf_counter()
                webhooks.deliver([delivery.pk])
                deliver_ms = (time.perf_counter() - started) * 1000
    return dispatch_statements, dispatch_ms, per_subscriber, len(statements), deliver_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    url = bench_database_url("oms_bench_events")
    redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    redis_url = f"{redis_base}/13"
    ensure_database(url)
    setup_django(url, redis_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    tenant = prepare()
    env = app_env(url, redis_url)
    print(f"{os.cpu_count()} CPUs, load {load_average()}; workers log in as the application role (RLS forced)")

    rate = throughput(tenant, env, args.events)
    print(f"\n1. one worker process dispatched {args.events} order.created events at {rate:.0f} events/s")

    created, produced_in, lags, dispatch_lags, worker_cpu, errors = lag(
        tenant, env, rate=args.rate, seconds=args.seconds, threads=args.threads
    )
    print(
        f"\n2. {created} orders in {produced_in:.1f} s ({created / produced_in:.0f}/s, aim {args.rate}/s); "
        f"{len(lags)} webhooks arrived" + (f"; {len(errors)} intake errors: {errors[0]!r}" if errors else "")
    )
    if lags:
        ms = [lag * 1000 for lag in lags]
        print(
            f"   commit → webhook arrival: p50 {percentile(ms, 0.5):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
            f"max {max(ms):.0f} ms; the last one {ms[-1]:.0f} ms"
        )
    if dispatch_lags:
        ms = [lag * 1000 for lag in dispatch_lags]
        print(
            f"   of which event written → dispatched: p50 {percentile(ms, 0.5):.0f} ms, "
            f"p95 {percentile(ms, 0.95):.0f} ms (the rest: queueing and sending the webhook)"
        )
    if created:
        print(f"   workers' CPU (events + io, their children included): {worker_cpu / created * 1000:.1f} ms per order")

    as_app_role()  # part 3 runs in this process: as the workers do, logged in as the application role
    statements, dispatch_ms, per_subscriber, deliver_statements, deliver_ms = where_time_goes(tenant)
    print(f"\n3. one order.created: dispatch {statements} SQL statements, {dispatch_ms:.1f} ms in this process")
    for name, (count, ms) in per_subscriber.items():
        print(f"   subscriber {name:32} {count:3} statements {ms:6.1f} ms")
    print(
        f"   bookkeeping (tenant, claim, handled, done)  {statements - sum(c for c, _ in per_subscriber.values()):3} statements"
    )
    if deliver_ms is not None:
        print(f"   webhook delivery: {deliver_statements} statements, {deliver_ms:.1f} ms (receiver on loopback)")
    print(f"\nload {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

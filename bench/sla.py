"""One time-limit sweep over 1,000,000 open orders of which 1,000 are overdue (aim: under 1 s).

    python bench/sla.py [--orders 1000000] [--overdue 1000] [--runs 3]

The sweep (`notifications.services.sla.sweep_overdue`) reads the partial index `orderdeadline_due`
(`due_at` where not yet overdue), so its cost follows the overdue orders, not all orders. Each run marks
the overdue orders, writes one alert per manager and one `order.overdue` outbox event per order, and queues
their dispatch on the broker (Redis at REDIS_URL) after commit — all inside the timing. Between runs the
deadlines are reset to "not overdue" and the alerts and events removed.

The database is `BENCH_DATABASE_URL` when set, else the server of `DATABASE_URL` (or 127.0.0.1:5432) with the
database `oms_sla_bench`, created and migrated on first use; the orders (tenant `bench-sla`) are built once
with one INSERT … SELECT generate_series, their deadlines planned by the service (`replan_status`), and reused.
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

TENANT_SLUG = "bench-sla"
LIMIT_MINUTES = 60


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("AXES_ENABLED", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(total: int, overdue: int):
    """The tenant, two managers, a 60-minute limit on `new`, and `total` open orders (`overdue` of them late)."""
    from django.db import connection

    from notifications.models import TimeLimit
    from notifications.services import sla
    from oms.models import Role, Tenant
    from oms.services import add_member, create_tenant, ensure_user
    from orders.models import Customer, Order, OrderStatus

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first() or create_tenant(slug=TENANT_SLUG, name="SLA bench")
    for name in ("sla-manager-1", "sla-manager-2"):
        add_member(tenant=tenant, user=ensure_user(username=name), role=Role.MANAGER)
    status = OrderStatus.objects.get(tenant=tenant, code="new")
    TimeLimit.objects.update_or_create(tenant=tenant, status=status, defaults={"minutes": LIMIT_MINUTES})
    have = Order.objects.filter(tenant=tenant).count()
    if have >= total:
        return tenant
    customer = Customer.objects.filter(tenant=tenant).first() or Customer.objects.create(tenant=tenant, name="Bench")
    started = time.perf_counter()
    # Every column from the model, so fields other apps add later are filled with their defaults.
    special = {
        "tenant": "%(tenant)s",
        "number": "'B' || g",
        "customer": "%(customer)s",
        "status": "%(status)s",
        "group": "'new'",
        # the first `overdue` rows are past their deadline (60 minutes on); the rest are due within 30 days
        "status_changed_at": "CASE WHEN g <= %(overdue)s THEN now() - (g %% 59 + 1 + 60) * interval '1 minute' "
        "ELSE now() + interval '1 day' + (g %% 43200 - 60) * interval '1 minute' END",
        "created_at": "now() - interval '1 day'",
        "updated_at": "now()",
    }
    columns, values, params = [], [], {"tenant": tenant.pk, "customer": customer.pk, "status": status.pk}
    params["overdue"] = overdue
    for field in Order._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in special:
            values.append(special[field.name])
        else:
            key = f"d_{field.column}"
            default = field.get_default()
            params[key] = field.get_db_prep_save(default, connection) if default is not None else None
            values.append(f"%({key})s")
    sql = (
        f"INSERT INTO orders_order ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM generate_series(%(start)s, %(stop)s) AS g"
    )
    with connection.cursor() as cursor:
        chunk = 200_000
        for start in range(have + 1, total + 1, chunk):
            cursor.execute(sql, {**params, "start": start, "stop": min(total, start + chunk - 1)})
            print(f"  inserted up to {min(total, start + chunk - 1):,}")
        cursor.execute("ANALYZE orders_order")
        sla.replan_status(tenant=tenant, status_id=status.pk)
        cursor.execute("ANALYZE notifications_orderdeadline")
    print(f"built {total - have:,} orders and their deadlines in {time.perf_counter() - started:.1f} s")
    return tenant


def reset(tenant, overdue: int) -> None:
    from django.db import connection

    from notifications.models import Alert, OrderDeadline
    from oms.models import Event

    OrderDeadline.objects.filter(tenant=tenant, overdue_at__isnull=False).update(overdue_at=None)
    with connection.cursor() as cursor:  # rows that came due while the data sat around move a month ahead
        cursor.execute(
            "WITH moved AS ("
            " UPDATE notifications_orderdeadline d SET due_at = d.due_at + interval '30 days',"
            " started_at = d.started_at + interval '30 days'"
            " FROM orders_order o WHERE o.id = d.order_id AND d.tenant_id = %s"
            " AND d.due_at < now() + interval '1 hour' AND d.overdue_at IS NULL AND substr(o.number, 2)::int > %s"
            " RETURNING d.order_id) "
            "UPDATE orders_order SET status_changed_at = status_changed_at + interval '30 days' "
            "WHERE id IN (SELECT order_id FROM moved)",
            [tenant.pk, overdue],
        )
    Alert.objects.filter(tenant=tenant).delete()
    Event.objects.filter(tenant=tenant, kind="order.overdue").delete()


def explain() -> str:
    from django.db import connection
    from django.utils import timezone

    from notifications.models import OrderDeadline

    sql, params = (
        OrderDeadline.objects.filter(overdue_at__isnull=True, due_at__lte=timezone.now())
        .order_by("due_at")
        .values("pk")[:1000]
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = bench_database_url("oms_sla_bench")
    ensure_database(url)
    setup_django(url)

    from oms.celery import app
    from oms.models import Event
    from orders.models import Order

    tenant = build(args.orders, args.overdue)
    open_orders = Order.objects.filter(tenant=tenant).count()
    print(f"{open_orders:,} open orders; limit {LIMIT_MINUTES} min on 'new'")
    from notifications.services import sla

    timings = []
    for run in range(1, args.runs + 1):
        reset(tenant, args.overdue)
        started = time.perf_counter()
        marked = sla.sweep_overdue()
        elapsed = time.perf_counter() - started
        timings.append(elapsed)
        events = Event.objects.filter(tenant=tenant, kind="order.overdue").count()
        print(f"run {run}: marked {marked:,} overdue, {events:,} events, in {elapsed:.3f} s")
        assert marked == args.overdue, marked
    started = time.perf_counter()
    assert sla.sweep_overdue() == 0
    print(f"an idle sweep (nothing overdue) takes {(time.perf_counter() - started) * 1000:.1f} ms")
    print(f"sweep: best {min(timings):.3f} s, median {statistics.median(timings):.3f} s  (aim: < 1 s)")
    print("plan of the candidate query (after the last run, nothing left):")
    reset(tenant, args.overdue)
    print(explain())
    app.control.purge()  # drop the queued dispatches: no worker reads this broker during the benchmark


if __name__ == "__main__":
    main()

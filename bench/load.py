"""Mixed traffic under load: a sale's API intake while managers, packers, couriers and owners work.

    python bench/load.py [--orders 100000] [--skip-seed] [--rates 2,5,10,25,50,100] [--seconds 60] [--warmup 8]
                         [--managers 20] [--packers 5] [--web-workers 2×CPUs+1] [--threads 1] [--celery 2]
                         [--worker-nice 10] [--pooler SIZE] [--no-profile]

Production-shaped on loopback: gunicorn (`--web-workers` × `--threads`, DEBUG off) and a real Celery worker
(not eager, at a lower CPU priority than web: people wait on pages, events may lag a little) log in as the
application role with row-level security forced; the shop `bulk` is seeded with
`--orders` orders by `manage.py seed_bulk` (reused on later runs). A webhook endpoint on a local receiver takes
`order.created`, so event lag (commit → webhook arrival) is measured end to end.

For each API rate in `--rates` (orders/s, each one create with 1–5 lines and a reserve, with idempotency keys,
arriving at random as buyers do: a Poisson process of that rate) one headless Locust run (bench/locustfile.py) adds 20 managers (list, status filter, phone search, order page,
status change), 5 packers (scan sessions), 2 couriers (route page) and 2 owners (reports); people arrive spread
over `--warmup` seconds, then `--seconds` are measured. Printed per step and per endpoint: requests/s,
samples, p50/p95/p99 ms and errors; the event lag p50/p95; the CPU each part of the stack used (web, worker,
PostgreSQL, Redis, Locust itself) and the whole machine (with the hypervisor's steal). The steps stop at the first rate the stack cannot take in (under 90 % of it created).
Then the highest rate held with every p95 under 200 ms and no error, and — unless `--no-profile` — a py-spy
profile of the web and worker processes at that rate: where their time goes.

The database is `oms_bench_load` on the server of `DATABASE_URL` (or `BENCH_DATABASE_URL`); Redis database 12
of `REDIS_URL` (or 127.0.0.1:6379). Everything listens on 127.0.0.1 only.
"""

import argparse
import csv
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.common import bench_database_url, collect_static, core_speed, ensure_database, stop  # noqa: E402
from bench.orders import BENCH_ENV, free_port, load_average, percentile, seed, wait_until_up  # noqa: E402

OUT = ROOT / "bench" / "out"
P95_AIM_MS = 200
PACKABLE_ORDERS = 3000
APP_ROLE = "oms_app"


def setup_django(url: str, redis_url: str) -> None:
    os.environ.update(BENCH_ENV)
    os.environ.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        WEBHOOKS_ALLOW_PRIVATE_URLS="1",
        DATABASE_APP_ROLE=APP_ROLE,
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()


# --- the shop's people and things ---------------------------------------------------------------------------
def build_fixtures(tenant, *, managers: int, packers: int, receiver_url: str) -> dict:
    from django.conf import settings
    from django.test import Client

    from bench.orders import api_fixtures
    from notifications.models import WebhookEndpoint
    from notifications.services.webhooks import create_endpoint
    from oms import rls
    from oms.models import Role
    from oms.services import add_member, create_api_token, ensure_user
    from orders.models import CustomerContact, Order, OrderStatus, StatusTransition

    with rls.tenant_context(tenant.pk):
        skus, phones = api_fixtures(tenant)
        _, token = create_api_token(tenant=tenant, name="load")
        # Earlier runs' receivers are gone: their endpoints would fail every delivery and load the worker with retries.
        WebhookEndpoint.objects.filter(tenant=tenant, description="load receiver").update(is_active=False)
        create_endpoint(tenant=tenant, url=receiver_url, events=["order.created"], description="load receiver")
        new = OrderStatus.objects.get(tenant=tenant, group="new", is_default=True)
        target = (
            StatusTransition.objects.filter(tenant=tenant, from_status=new, channel="")
            .exclude(to_status__group__in=["cancelled", "done"])
            .values_list("to_status__code", flat=True)
            .first()
        )
        to_confirm = list(Order.objects.filter(tenant=tenant, status=new).values_list("pk", flat=True)[: managers * 60])
        packable = build_packable_orders(tenant, PACKABLE_ORDERS)
        order_ids = list(Order.objects.filter(tenant=tenant).order_by("?").values_list("pk", flat=True)[:5000])
        digits = [
            phone[-7:]
            for phone in CustomerContact.objects.filter(tenant=tenant, kind="phone").values_list(
                "normalized", flat=True
            )[:500]
        ]
        status_codes = list(OrderStatus.objects.filter(tenant=tenant).values_list("code", flat=True))
        people = {"managers": [], "packers": [], "couriers": [], "owners": []}
        roles = {
            "managers": (Role.MANAGER, managers),
            "packers": (Role.PACKER, packers),
            "couriers": (Role.COURIER, 2),
            "owners": (Role.OWNER, 2),
        }
        for kind, (role, count) in roles.items():
            for n in range(count):
                user = ensure_user(username=f"load-{kind}-{n}")
                add_member(tenant=tenant, user=user, role=role)
                client = Client()
                client.force_login(user)
                session = client.session
                session["tenant_id"] = tenant.pk
                session.save()
                person = {"session": session.session_key}
                if kind == "managers":
                    person["to_confirm"] = to_confirm[n::managers]
                if kind == "packers":
                    person["orders"] = packable[n::packers]
                people[kind].append(person)
    return {
        "token": token,
        "skus": skus,
        "order_ids": order_ids,
        "phone_digits": [d for d in digits if len(d) >= 5],
        "status_codes": status_codes,
        "confirm_code": target,
        "people": people,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
    }


def build_packable_orders(tenant, count: int) -> list[tuple[int, list[str]]]:
    """`count` orders waiting at the packing station (numbered from 900000, built once), with the barcodes a
    packer scans for each."""
    from bench.common import add_packable_orders
    from inventory.models import Product
    from orders.models import Order

    first = 900_000
    numbers = [str(first + n) for n in range(count)]
    have = Order.objects.filter(tenant=tenant, number__in=numbers).count()
    if have < count:
        print(f"building {count - have} orders for the packers (once) ...")
        products = list(Product.objects.filter(tenant=tenant, is_active=True).exclude(barcode="")[:100])
        add_packable_orders(tenant, products, have, count, first_number=first)
    ready = Order.objects.filter(tenant=tenant, number__in=numbers, packing_verified_at__isnull=True)
    return [
        (order.pk, [line.product.barcode for line in order.lines.all() for _ in range(line.quantity)])
        for order in ready.prefetch_related("lines__product")
    ]


# --- the webhook receiver -----------------------------------------------------------------------------------
class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.lags: list[tuple[float, float]] = []  # (arrival, arrival - event time) in seconds

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        try:
            happened = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
            self.server.lags.append((now, now - happened))
        except (ValueError, KeyError):
            pass
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


# --- processes ----------------------------------------------------------------------------------------------
def app_env(url: str, redis_url: str) -> dict:
    from oms.launcher import app_login

    env = {
        **os.environ,
        **BENCH_ENV,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "1",
        "DATABASE_APP_ROLE": APP_ROLE,
    }
    return app_login(env)


def start(command, env, log_name) -> subprocess.Popen:
    log = (OUT / log_name).open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_by_process(parts: dict[str, int]) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process of `parts` (process trees by root pid) and of PostgreSQL and Redis."""
    ticks = os.sysconf("SC_CLK_TCK")
    trees = {name: set(descendants(pid)) for name, pid in parts.items()}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.find("(") + 1 : raw.rfind(")")]
        fields = raw.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        part = next((name for name, tree in trees.items() if pid in tree), None)
        if part is None and comm.startswith("postgres"):
            part = "postgresql"
        elif part is None and (comm.startswith("redis") or comm.startswith("valkey")):
            part = "redis"
        if part:
            found[pid] = (part, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], parts) -> dict[str, float]:
    """CPU seconds each part used between two snapshots, process by process: a process that started in between
    counts from zero, one that ended in between is left out (PostgreSQL ends a backend with its connection)."""
    used = dict.fromkeys([*parts, "postgresql", "redis"], 0.0)
    for pid, (part, seconds) in after.items():
        earlier = before.get(pid)
        used[part] += seconds - (earlier[1] if earlier and earlier[0] == part else 0.0)
    return used


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat: what every process and the kernel
    used, whoever they are; steal is what the hypervisor gave to other guests."""
    ticks = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq) / ticks, steal / ticks


# --- one step -----------------------------------------------------------------------------------------------
def run_step(rate, *, seconds, warmup, port, fixtures_file, counts, receiver, parts, label) -> dict:
    """One Locust run of `warmup` + `seconds`: the figures (latencies, CPU, event lag) cover the last `seconds`."""
    users = rate + sum(counts.values())
    prefix = OUT / f"load_{label}"
    env = {
        **os.environ,
        "LOAD_FIXTURES": str(fixtures_file),
        "LOAD_API_USERS": str(rate),
        "LOAD_COUNTS": json.dumps(counts),
        "LOAD_WARMUP": str(warmup),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        f"http://127.0.0.1:{port}",
        "-u",
        str(users),
        "-r",
        str(max(10, users // 2)),
        "-t",
        f"{warmup + seconds}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "ERROR",
    ]
    started = time.time()
    locust = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    watched = {**parts, "locust": locust.pid}
    time.sleep(warmup + 1)  # Locust takes about a second to start; its statistics restart after the warm-up
    window_start = time.time()
    cpu_before, machine_before = cpu_by_process(watched), machine_cpu()
    time.sleep(max(0.0, started + warmup + seconds - time.time()))
    cpu_after, machine_after = cpu_by_process(watched), machine_cpu()
    window_end = time.time()
    _, err = locust.communicate(timeout=seconds + 120)
    drain_until = time.time() + 30
    while time.time() < drain_until and receiver.lags and receiver.lags[-1][0] > time.time() - 2:
        time.sleep(0.5)  # let the worker finish the step's events before the next step starts
    lags = [lag for arrival, lag in receiver.lags if window_start <= arrival - lag <= window_end]
    rows = read_stats(prefix)
    if not rows:
        print(err[-2000:])
    return {
        "rate": rate,
        "rows": rows,
        "lags": lags,
        "seconds": window_end - window_start,
        "cpu": cpu_used(cpu_before, cpu_after, watched),
        "machine": [after - before for before, after in zip(machine_before, machine_after, strict=True)],
    }


def read_stats(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_stats.csv")
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def print_step(step: dict) -> bool:
    rate, rows = step["rate"], step["rows"]
    print(f"\n-- API {rate} orders/s target, {step['seconds']:.0f} s after a warm-up, load average {load_average()}")
    print(f"   {'endpoint':<22}{'req/s':>8}{'n':>6}{'p50':>7}{'p95':>7}{'p99':>7}{'errors':>8}")
    held = bool(rows)
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        errors = int(row["Failure Count"])
        p95 = float(row["95%"]) if row["95%"] not in ("", "N/A") else 0.0
        print(
            f"   {name:<22}{float(row['Requests/s']):8.1f}{row['Request Count']:>6}{row['50%']:>7}{row['95%']:>7}"
            f"{row['99%']:>7}{errors:8d}"
        )
        if name != "all":
            held = held and errors == 0 and p95 < P95_AIM_MS
    creates = next((float(r["Requests/s"]) for r in rows if r["Name"] == "API create"), 0.0)
    lags = step["lags"]
    if lags:
        p50, p95 = percentile(lags, 0.5), percentile(lags, 0.95)
        print(f"   orders created {creates:.1f}/s; event lag (commit → webhook) p50 {p50:.2f} s, p95 {p95:.2f} s")
        held = held and p95 < 2.0
    else:
        print(f"   orders created {creates:.1f}/s; no webhook arrived in the step")
        held = False
    cpu = step["cpu"]
    busy, steal = (v / step["seconds"] for v in step["machine"])
    print(
        "   CPU seconds per second: "
        + ", ".join(f"{k} {v / step['seconds']:.2f}" for k, v in cpu.items())
        + f"; the whole machine {busy:.2f} of {os.cpu_count()} (steal {steal:.2f})"
    )
    step["created"], step["saturated"] = creates, creates < 0.9 * rate
    step["held"] = held and not step["saturated"]
    print(f"   held (every p95 < {P95_AIM_MS} ms, no error, lag p95 < 2 s): {'yes' if step['held'] else 'no'}")
    return step["held"]


def print_cost_per_order(steps: list[dict]) -> None:
    """CPU one more API order per second costs, part by part: the difference between the lowest and the highest
    step the stack took in whole (the people's traffic is the same in both), and what the aim would need."""
    whole = [s for s in steps if not s["saturated"] and s["created"] > 0]
    if len(whole) < 2:
        return
    low, high = whole[0], whole[-1]
    extra_orders = high["created"] - low["created"]
    if extra_orders <= 0:
        return
    per_order = {
        part: 1000 * (high["cpu"][part] / high["seconds"] - low["cpu"][part] / low["seconds"]) / extra_orders
        for part in high["cpu"]
        if part != "locust"
    }
    total = sum(per_order.values())
    people = sum(v for k, v in low["cpu"].items() if k != "locust") / low["seconds"] - total * low["created"] / 1000
    print(
        f"\nCPU per API order (create + reserve, between {low['rate']} and {high['rate']} orders/s): "
        + ", ".join(f"{part} {ms:.0f} ms" for part, ms in per_order.items())
        + f"; {total:.0f} ms in all. "
        + (
            f"The people's traffic alone takes ≈ {people:.2f} CPU; "
            if people > 0
            else "(The steps near saturation cost more per order than the first: contention is in the figure.) "
        )
        + f"100 orders/s would take ≈ {total / 10:.1f} CPUs for the intake alone (this machine has {os.cpu_count()})"
    )


# --- profile ------------------------------------------------------------------------------------------------
def profile(pids: dict[str, list[int]], seconds: int) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: no profile")
        return
    runs = []
    for name, group in pids.items():
        for pid in group:
            out = OUT / f"profile_{name}_{pid}.txt"
            runs.append(
                (
                    name,
                    out,
                    subprocess.Popen(
                        [
                            spy,
                            "record",
                            "--pid",
                            str(pid),
                            "--duration",
                            str(seconds),
                            "--format",
                            "raw",
                            "--nonblocking",
                            "--output",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    ),
                )
            )
    for _, _, process in runs:
        process.wait()
    for name in pids:
        own, total = {}, 0
        for run_name, out, _ in runs:
            if run_name != name or not out.exists():
                continue
            for line in out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not count.isdigit():
                    continue
                total += int(count)
                frames = stack.split(";")
                area = where(frames)
                own[area] = own.get(area, 0) + int(count)
        if not total:
            print(f"   {name}: no samples")
            continue
        print(
            f"   {name} ({total} samples): "
            + ", ".join(f"{area} {100 * n / total:.0f} %" for area, n in sorted(own.items(), key=lambda x: -x[1])[:8])
        )


AREAS = [
    ("PostgreSQL round trips (psycopg)", ("psycopg", "pgconn")),
    ("Redis / broker", ("redis/", "kombu", "amqp")),
    ("templates", ("django/template", "template_partials", "jinja2")),
    ("ORM (Python side)", ("django/db",)),
    ("HTTP out (webhooks)", ("oms/http.py", "urllib3", "http/client")),
    ("idle / waiting for work", ("select", "epoll", "poll", "gthread.py", "sleep", "wait")),
]


def where(frames: list[str]) -> str:
    """The area of a sampled stack: the innermost frame that names one of AREAS, else the app's own code."""
    for frame in reversed(frames):
        for area, marks in AREAS:
            if any(mark in frame for mark in marks):
                return area
    for frame in reversed(frames):
        for app in ("orders/", "inventory/", "shipments/", "notifications/", "analytics/", "oms/"):
            if f"/{app}" in frame and ".venv" not in frame:
                return f"app code ({app.rstrip('/')})"
    return "other (Django, gunicorn, Celery)"


# --- main ---------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--rates", default="2,5,10,25,50,100")
    parser.add_argument(
        "--seconds",
        type=int,
        default=60,
        help="measured seconds per step, after the warm-up (the rarest endpoint, an owner's report, gets ~18 samples)",
    )
    parser.add_argument(
        "--warmup", type=int, default=8, help="seconds per step before measuring: users arrive and settle"
    )
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--packers", type=int, default=5)
    # As the Dockerfile runs it: 2 × cores + 1 processes of one request each.
    parser.add_argument("--web-workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--celery", type=int, default=2, help="Celery worker concurrency")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="CPU priority of workers and beat below web (nice); 0 = the same. People wait on web, not on events",
    )
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--pooler",
        type=int,
        default=0,
        metavar="SIZE",
        help="run web and workers through PgBouncer in transaction mode with SIZE server connections",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)

    url = bench_database_url("oms_bench_load")
    redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    redis_url = f"{redis_base}/12"
    ensure_database(url)
    setup_django(url, redis_url)
    tenant = seed(args.orders, max(1000, args.orders // 5), args.skip_seed)
    collect_static()
    subprocess.run(
        [sys.executable, "manage.py", "build_reports", "--tenant", tenant.slug],
        cwd=ROOT,
        env={**os.environ},
        check=False,
        capture_output=True,
    )
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    fixtures = build_fixtures(tenant, managers=args.managers, packers=args.packers, receiver_url=receiver.url)
    fixtures_file = OUT / "load_fixtures.json"
    fixtures_file.write_text(json.dumps(fixtures))
    counts = {"managers": args.managers, "packers": args.packers, "couriers": 2, "owners": 2}

    env = app_env(url, redis_url)
    with ExitStack() as stack:
        if args.pooler:
            env = stack.enter_context(through_pgbouncer(env, args.pooler))
        return run_traffic(args, env, tenant, fixtures, counts, receiver)


@contextmanager
def through_pgbouncer(env: dict, pool_size: int):
    """The app's connections go through PgBouncer (transaction pooling), configured as the README says."""
    from tests.support import pgbouncer

    direct = urlsplit(env["DATABASE_URL"])
    user = unquote(direct.username or "")
    dbname = direct.path.lstrip("/")
    with pgbouncer.pgbouncer(
        host=unquote(direct.hostname or ""), port=direct.port or 5432, dbname=dbname, users=[user], pool_size=pool_size
    ) as port:
        pooled = urlunsplit(direct._replace(netloc=f"{quote(user, safe='')}@127.0.0.1:{port}", path="/pooled"))
        print(f"through PgBouncer (transaction pooling) on 127.0.0.1:{port}, {pool_size} server connections")
        yield {**env, "DATABASE_URL": pooled, "DATABASE_TRANSACTION_POOLING": "1"}


def run_traffic(args, env, tenant, fixtures, counts, receiver) -> int:
    fixtures_file = OUT / "load_fixtures.json"
    port = free_port()
    web = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "oms.wsgi:application",
            "--config",
            "python:oms.gunicorn_conf",
            "-w",
            str(args.web_workers),
            "--threads",
            str(args.threads),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env,
        "load_gunicorn.log",
    )
    background = ["nice", "-n", str(args.worker_nice)] if args.worker_nice else []
    worker = start(
        [
            *background,
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oms",
            "worker",
            "-l",
            "WARNING",
            "--concurrency",
            str(args.celery),
            "-Q",
            queues(),
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        "load_worker.log",
    )
    beat = start(
        [
            *background,
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oms",
            "beat",
            "-l",
            "WARNING",
            "--schedule",
            str(OUT / "load_beat_schedule"),
        ],
        env,
        "load_beat.log",
    )
    try:
        wait_until_up(port, web)
        print(
            f"\ngunicorn {args.web_workers}×{args.threads} on 127.0.0.1:{port}, Celery worker ×{args.celery} "
            f"(nice {args.worker_nice}), "
            f"app role {APP_ROLE}, {os.cpu_count()} CPUs ({core_speed()}); tenant '{tenant.slug}'"
        )
        parts = {"web": web.pid, "worker": worker.pid}
        steps = []
        for rate in [int(r) for r in args.rates.split(",")]:
            fixtures_file.write_text(json.dumps(fixtures))
            step = run_step(
                rate,
                seconds=args.seconds,
                warmup=args.warmup,
                port=port,
                fixtures_file=fixtures_file,
                counts=counts,
                receiver=receiver,
                parts=parts,
                label=str(rate),
            )
            steps.append(step)
            print_step(step)
            if step["saturated"]:
                print(f"   the stack takes in {step['created']:.1f} of {rate} orders/s: saturated, no higher step")
                break
        held = [s["rate"] for s in steps if s["held"]]
        best = max(held) if held else None
        print(
            f"\nhighest rate held: {f'{best} API orders/s' if best else 'none of the steps'} "
            f"(with {args.managers} managers, {args.packers} packers, 2 couriers, 2 owners)"
        )
        print_cost_per_order(steps)
        if not args.no_profile:
            rate = best or min(int(r) for r in args.rates.split(","))
            print(f"\nwhere the time goes at {rate} orders/s (py-spy, 15 s):")
            fixtures_file.write_text(json.dumps(fixtures))
            threading.Timer(
                args.warmup + 1,
                profile,
                args=({"web": descendants(web.pid)[1:], "worker": descendants(worker.pid)[1:]}, 15),
            ).start()
            run_step(
                rate,
                seconds=20,
                warmup=args.warmup,
                port=port,
                fixtures_file=fixtures_file,
                counts=counts,
                receiver=receiver,
                parts=parts,
                label="profile",
            )
    finally:
        for process in (beat, worker, web):
            stop(process)
        receiver.shutdown()
    return 0


def queues() -> str:
    from bench.common import all_queues

    return all_queues()


if __name__ == "__main__":
    sys.exit(main())

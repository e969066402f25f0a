"""CPU instructions per request of the hot paths, counted by valgrind: a figure that does not depend on the machine.

    python bench/instructions.py [--orders 20000] [--skip-seed] [--api 40] [--pages 8] [--only api,list,...]
                                 [--keep DIR]

The seconds a request costs vary with the machine and, on a shared virtual one, from minute to minute (the same
loop took 0.26 s and 0.48 s of CPU within ten minutes here), so a change of a few percent cannot be told from the
noise by timing it. Instructions can: `valgrind --tool=callgrind` counts them, and two runs of the same code differ
by under 1 %. Each path runs in a child process under callgrind, in process through Django's whole handler
(middleware, view, template, ORM, psycopg), production-shaped (DEBUG off, the application role with row-level
security forced, Redis as the cache); once with the warm-up alone and once with N requests more: the difference,
divided by N, is the figure. Only the web process's instructions are counted, not PostgreSQL's or Redis's.

Paths: `api` (an API order: create with 1-5 lines, paid, a new customer, with an Idempotency-Key, then reserve;
the shop's dispatch already queued, as it is at any rate above a few orders a second), and the managers' `list`,
`list by status`, `phone search`, `order page` and `status change` (an order of the group "new" moved on, as the
order page's button does with htmx: the change and the order's body in answer). The shop `bulk` of the database `oms_bench_instructions` is
seeded with `--orders` orders by `manage.py seed_bulk` (reused later). Needs valgrind (Debian's package).
"""

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    as_app_role,
    bench_database_url,
    bench_redis_url,
    collect_static,
    core_speed,
    ensure_database,
    setup_django,
)

DATABASE = "oms_bench_instructions"
REDIS_DB = 7
PATHS = ["api", "list", "list by status", "phone search", "order page", "status change"]
WARMUP = 10
WAITING_ORDERS = 300  # orders of the group "new" kept for the status-change runs


def _setup(migrate: bool) -> None:
    setup_django(bench_database_url(DATABASE), redis_url=bench_redis_url(REDIS_DB), migrate=migrate)


def prepare(orders: int, skip_seed: bool) -> dict:
    """Seed the shop once; a manager and an API token for the children (as the owner)."""
    from django.contrib.auth import get_user_model

    from bench.orders import api_fixtures, seed
    from oms import rls
    from oms.actors import Actor
    from oms.models import Role
    from oms.services import add_member, create_api_token, ensure_user
    from orders.models import Order, OrderStatus, StatusTransition
    from orders.services import intake

    SYSTEM = Actor.system("bench")  # noqa: N806

    tenant = seed(orders, max(1000, orders // 5), skip_seed)
    with rls.tenant_context(tenant.pk):
        skus, _ = api_fixtures(tenant)
        _, token = create_api_token(tenant=tenant, name="instructions")
        manager = ensure_user(username="instructions-manager")
        add_member(tenant=tenant, user=manager, role=Role.MANAGER)
        order_ids = list(Order.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True)[:200])
        codes = list(OrderStatus.objects.filter(tenant=tenant, is_active=True).values_list("code", flat=True))
        new = OrderStatus.objects.get(tenant=tenant, group="new", is_default=True)
        # Each status-change run moves orders of its own on: keep enough waiting for the next runs.
        waiting = Order.objects.filter(tenant=tenant, status=new).count()
        for n in range(max(0, WAITING_ORDERS - waiting)):
            line = intake.LineInput(sku=skus[n % len(skus)], quantity=1)
            intake.create_order(
                tenant=tenant, data=intake.OrderInput(customer_name="Waiting Customer", lines=[line]), actor=SYSTEM
            )
        confirm = (
            StatusTransition.objects.filter(tenant=tenant, from_status=new, channel="", to_status__group="approval")
            .values_list("to_status__code", flat=True)
            .first()
        )
    assert get_user_model().objects.filter(pk=manager.pk).exists()
    return {
        "tenant": tenant.pk,
        "token": token,
        "skus": skus,
        "manager": manager.pk,
        "orders": order_ids,
        "codes": codes,
        "new_status": new.pk,
        "confirm": confirm,
    }


def child(path: str, count: int, fixtures: dict) -> None:
    """Run WARMUP + `count` requests of `path`, as the application role; the parent counts the instructions."""
    _setup(migrate=False)
    import django.test
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from oms.events import kick_key

    as_app_role(quiet=True)
    random.seed(1)
    # A dispatch of the shop is already on its way: at any real rate the flag is set and no task is sent.
    cache.set(kick_key(fixtures["tenant"]), 1, 3600)
    client = django.test.Client()
    if path == "api":
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {fixtures['token']}"}

        def one(i: int) -> None:
            body = {
                "channel": "web",
                "customer": {"name": "Instr Customer", "phone": f"+1 555 {uuid.uuid4().int % 10**7:07d}"},
                "payment": {"method": "card", "status": "paid"},
                "delivery": {"method": "courier", "address": "1 Count Street"},
                "lines": [
                    {"sku": sku, "quantity": random.randint(1, 2)}
                    for sku in random.sample(fixtures["skus"], random.randint(1, 5))
                ],
            }
            created = client.post(
                "/api/v1/orders",
                json.dumps(body),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
                **bearer,
            )
            assert created.status_code == 201, created.content
            reserved = client.post(
                f"/api/v1/orders/{created.json()['id']}/reserve", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex, **bearer
            )
            assert reserved.status_code == 200, reserved.content
    else:
        client.force_login(get_user_model().objects.get(pk=fixtures["manager"]))
        session = client.session
        session["tenant_id"] = fixtures["tenant"]
        session.save()
        if path == "status change":
            from oms import rls
            from orders.models import Order

            with rls.tenant_context(fixtures["tenant"]):  # orders no earlier run moved (each moves its own)
                waiting = list(
                    Order.objects.filter(tenant_id=fixtures["tenant"], status_id=fixtures["new_status"])
                    .order_by("pk")
                    .values_list("pk", flat=True)[: WARMUP + count]
                )
            assert len(waiting) == WARMUP + count, "not enough new orders left: seed more"

            def one(i: int) -> None:
                response = client.post(
                    f"/orders/{waiting[i]}/status/", {"to": fixtures["confirm"]}, HTTP_HX_REQUEST="true"
                )
                assert response.status_code == 200 and b'id="order-body"' in response.content, response.status_code

            for i in range(WARMUP + count):
                one(i)
            with rls.tenant_context(fixtures["tenant"]):  # each was moved, not refused
                assert not Order.objects.filter(pk__in=waiting, status_id=fixtures["new_status"]).exists()
            return
        url = {
            "list": lambda i: "/orders/",
            "list by status": lambda i: f"/orders/?status={fixtures['codes'][i % len(fixtures['codes'])]}",
            "phone search": lambda i: "/orders/?q=5550",
            "order page": lambda i: f"/orders/{fixtures['orders'][i % len(fixtures['orders'])]}/",
        }[path]

        def one(i: int) -> None:
            response = client.get(url(i))
            assert response.status_code == 200, (path, response.status_code)

    for i in range(WARMUP + count):
        one(i)


def instructions(path: str, count: int, fixtures_file: str, out_dir: str) -> int:
    """Instructions callgrind counted for a child running `path` `count` times after the warm-up."""
    name = re.sub(r"\W", "_", path)
    out = Path(out_dir) / f"callgrind.{name}.{count}"
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            path,
            "--count",
            str(count),
            "--fixtures",
            fixtures_file,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    total = re.search(r"Collected : ([\d,]+)", run.stderr)
    if run.returncode != 0 or not total:
        raise SystemExit(f"{path} ×{count} failed:\n{run.stderr[-3000:]}")
    return int(total.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--api", type=int, default=40, help="API orders counted (each: create + reserve)")
    parser.add_argument("--pages", type=int, default=8, help="requests counted per page")
    parser.add_argument("--only", default="", help="comma-separated paths: " + ", ".join(PATHS))
    parser.add_argument("--keep", metavar="DIR", help="keep the callgrind files there (for callgrind_annotate)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fixtures", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.count, json.loads(Path(args.fixtures).read_text()))
        return 0
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    paths = [p.strip() for p in args.only.split(",") if p.strip()] or PATHS
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise SystemExit(f"unknown paths {sorted(unknown)}; choose from {PATHS}")
    ensure_database(bench_database_url(DATABASE))
    _setup(migrate=True)
    fixtures = prepare(args.orders, args.skip_seed)
    if set(paths) - {"api"}:
        collect_static()  # the pages render as in production, from the manifest
    print(f"{core_speed()} (for reference only: instructions do not depend on it)")
    print(f"{'path':<16} {'instructions per request':>26}")
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = args.keep or scratch
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        fixtures_file = Path(scratch) / "fixtures.json"  # holds a token: never kept
        fixtures_file.write_text(json.dumps(fixtures))
        for path in paths:
            count = args.api if path == "api" else args.pages
            base = instructions(path, 0, str(fixtures_file), out_dir)
            counted = instructions(path, count, str(fixtures_file), out_dir)
            label = "API order" if path == "api" else path
            print(f"{label:<16} {(counted - base) / count / 1e6:>24.2f} M", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

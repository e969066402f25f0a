"""What every benchmark needs: its own database next to the app's, created on first use, and the production shape.

Production shape (`setup_django` then `as_app_role`): DEBUG off with production settings (a plain-HTTP loopback
run turns off only the HTTPS switches), the schema migrated and the data built as the owner, then every query
measured through a connection logged in as the application role (`oms_app`: not the owner, not a superuser,
row-level security forced), the middleware and `rls.tenant_context` binding the tenant as they do in production.
Celery is never eager: a benchmark where events matter starts real workers (`start_worker`, same role) on its
own Redis database. Each prints its load average (`load_average`).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
APP_ROLE = "oms_app"
# Production settings for a plain-HTTP loopback run: only the HTTPS switches are off.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "LOG_LEVEL": "WARNING",
    "DATABASE_APP_ROLE": APP_ROLE,
}


def collect_static() -> None:
    """Production's static storage serves pages only from collectstatic's manifest: pages rendered as production
    renders them need it (a fresh clone has none)."""
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)


# In-process page benchmarks render without collectstatic's manifest (production storage needs it); nothing else
# about the page changes.
PLAIN_STATIC_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def bench_database_url(name: str) -> str:
    """BENCH_DATABASE_URL, else database `name` on the server of DATABASE_URL (or local), never the app's own."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def bench_redis_url(db: int) -> str:
    """BENCH_REDIS_URL, else Redis database `db` on the server of REDIS_URL (or 127.0.0.1:6379)."""
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    return f"{base}/{db}"


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def core_speed() -> str:
    """CPU seconds of a fixed pure-Python loop, best of three. Machines of the same size differ by twice and more
    per core (the same code held 40 API orders/s on one and not 10 on another, where this loop took 0.66-0.76 s),
    so each figure is read against this one."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for number in range(10_000_000):
            total += number
        best = min(best, time.process_time() - started)
    return f"reference loop {best:.2f} s of CPU per core"


def setup_django(url: str, *, redis_url: str | None = None, migrate: bool = True, **extra: str) -> None:
    """Django in this process with production settings, logged in as the owner (who migrates and builds data) until
    `as_app_role()`. `extra` adds or overrides environment variables."""
    os.environ.update(PRODUCTION_ENV)
    os.environ.update(DATABASE_URL=url, **extra)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # post_migrate makes the app role, its grants and the policies


def app_role_url(url: str) -> str:
    """The same database, logged in as the application role."""
    password = os.environ.get("DATABASE_APP_PASSWORD", "")
    user = quote(APP_ROLE, safe="") + (":" + quote(password, safe="") if password else "")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rsplit('@', 1)[-1]}"))


_owner: dict = {}


def as_app_role(quiet: bool = False) -> None:
    """From here on this process's connections log in as the application role, as web and workers do; checked."""
    from django.db import connection, connections

    connections.close_all()
    _owner.setdefault("USER", connection.settings_dict["USER"])
    _owner.setdefault("PASSWORD", connection.settings_dict["PASSWORD"])
    connection.settings_dict["USER"] = APP_ROLE
    connection.settings_dict["PASSWORD"] = os.environ.get("DATABASE_APP_PASSWORD", "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls, "
            "(SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname IN ('orders_order', 'orders_orderline'))"
            " FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypass, forced = cursor.fetchone()
    assert user == APP_ROLE and not superuser and not bypass and forced, (user, superuser, bypass, forced)
    if not quiet:
        print(f"measuring as {user}: not superuser, no BYPASSRLS, row-level security forced; DEBUG off")


def as_owner() -> None:
    """Back to the owner's login (after `as_app_role`), for maintenance between timed runs."""
    from django.db import connection, connections

    connections.close_all()
    connection.settings_dict.update(_owner)


def worker_env(url: str, redis_url: str) -> dict:
    """Environment of a web or worker process: production settings, the application role's login."""
    return {**os.environ, **PRODUCTION_ENV, "DATABASE_URL": app_role_url(url), "REDIS_URL": redis_url}


def start(command: list[str], env: dict, log_name: str) -> subprocess.Popen:
    OUT.mkdir(exist_ok=True)
    log = (OUT / log_name).open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def all_queues() -> str:
    """The default queue (events) and every queue a task is routed to."""
    from django.conf import settings

    names = {route.get("queue") for route in getattr(settings, "CELERY_TASK_ROUTES", {}).values()}
    return ",".join(sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *(n for n in names if n)}))


def start_worker(env: dict, log_name: str, *, queues: str | None = None, concurrency: int = 2) -> subprocess.Popen:
    """A real Celery worker (all queues unless `queues`), in its own process group; `stop` ends it."""
    queues = queues or all_queues()
    command = [sys.executable, "-m", "celery", "-A", "oms", "worker", "-l", "WARNING", "-Q", queues]
    command += ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle"]
    return start(command, env, log_name)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def add_packable_orders(tenant, products, have: int, want: int, *, first_number: int) -> None:
    """Orders `have`..`want` of `tenant`, waiting at the packing station: in the first assembly status, every line
    reserved (1-3 lines of 1-3 units of `products`), numbered from `first_number`."""
    import random

    from django.db import transaction
    from django.utils import timezone

    from orders.models import Customer, Group, Order, OrderLine, OrderStatus

    status = OrderStatus.objects.filter(tenant=tenant, group=Group.ASSEMBLY).order_by("position", "pk").first()
    customer = Customer.objects.filter(tenant=tenant).first() or Customer.objects.create(tenant=tenant, name="Bench")
    rng = random.Random(7)  # noqa: S311
    now = timezone.now()
    batch = 5000
    for start in range(have, want, batch):
        with transaction.atomic():
            numbers = range(start, min(start + batch, want))
            picks = {
                n: [(product, rng.randint(1, 3)) for product in rng.sample(products, rng.randint(1, 3))]
                for n in numbers
            }
            orders = Order.objects.bulk_create(
                [
                    Order(
                        tenant=tenant,
                        number=str(first_number + n),
                        customer=customer,
                        status=status,
                        group=Group.ASSEMBLY,
                        total=sum(product.price * quantity for product, quantity in picks[n]),
                        created_at=now - timezone.timedelta(minutes=want - n),
                    )
                    for n in numbers
                ]
            )
            lines = [
                OrderLine(
                    tenant=tenant,
                    order=order,
                    product=product,
                    quantity=quantity,
                    price=product.price,
                    reserved=quantity,
                )
                for n, order in zip(numbers, orders, strict=True)
                for product, quantity in picks[n]
            ]
            OrderLine.objects.bulk_create(lines)
        print(f"  {min(start + batch, want)} orders")

"""What every benchmark needs: its own database next to the app's, created on first use."""

import os
from urllib.parse import urlsplit, urlunsplit


def bench_database_url(name: str) -> str:
    """BENCH_DATABASE_URL, else database `name` on the server of DATABASE_URL (or local), never the app's own."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


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
            orders = Order.objects.bulk_create(
                [
                    Order(
                        tenant=tenant,
                        number=str(first_number + n),
                        customer=customer,
                        status=status,
                        group=Group.ASSEMBLY,
                        created_at=now - timezone.timedelta(minutes=want - n),
                    )
                    for n in range(start, min(start + batch, want))
                ]
            )
            lines = []
            for order in orders:
                for product in rng.sample(products, rng.randint(1, 3)):
                    quantity = rng.randint(1, 3)
                    lines.append(
                        OrderLine(
                            tenant=tenant,
                            order=order,
                            product=product,
                            quantity=quantity,
                            price=product.price,
                            reserved=quantity,
                        )
                    )
            OrderLine.objects.bulk_create(lines)
        print(f"  {min(start + batch, want)} orders")

"""Demo data: the tenant `demo` with one user per role, stock, and a few hundred orders over a year."""

import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from inventory import purchasing
from inventory import services as stock
from inventory.models import Product, Warehouse
from oms import rls
from oms.actors import Actor
from oms.models import Role, Tenant
from oms.services import add_member, create_tenant, ensure_user
from orders.errors import NothingToSplit
from orders.models import ActivityKind, Order, OrderActivity
from orders.services import editing, families, intake, reservations, statuses

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-1"
ROLES = [Role.OWNER, Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER]
PRODUCTS = [
    ("TSHIRT-BLK-M", "T-shirt black M", "19.90"),
    ("TSHIRT-WHT-L", "T-shirt white L", "19.90"),
    ("HOODIE-GRY-M", "Hoodie grey M", "49.00"),
    ("CAP-NAVY", "Cap navy", "14.50"),
    ("MUG-LOGO", "Mug with logo", "9.90"),
    ("BOTTLE-500", "Steel bottle 500 ml", "24.00"),
    ("BAG-TOTE", "Tote bag", "12.00"),
    ("SOCKS-3P", "Socks, 3 pairs", "11.90"),
    ("JACKET-RAIN-L", "Rain jacket L", "89.00"),
    ("NOTEBOOK-A5", "Notebook A5", "6.50"),
    ("PEN-SET", "Pen set", "8.90"),
    ("SCARF-WOOL", "Wool scarf", "29.00"),
]
CHANNELS = ["web", "web", "web", "marketplace", "phone"]
NAMES = [
    "Anna Petrova",
    "Ivan Sokolov",
    "Maria Ivanova",
    "Oleg Smirnov",
    "Elena Kuznetsova",
    "Dmitry Popov",
    "Olga Volkova",
    "Sergey Lebedev",
    "Natalia Kozlova",
    "Pavel Novikov",
    "Irina Morozova",
    "Alexey Orlov",
]
# Where demo orders end up: (path of statuses after `new`, weight).
PATHS = [
    ([], 3),
    (["confirmed"], 3),
    (["confirmed", "awaiting-stock"], 1),
    (["confirmed", "assembling"], 2),
    (["confirmed", "assembling", "packed"], 2),
    (["confirmed", "assembling", "packed", "handed-over"], 2),
    (["confirmed", "assembling", "packed", "handed-over", "in-transit"], 2),
    (["confirmed", "assembling", "packed", "handed-over", "delivered"], 12),
    (["confirmed", "assembling", "packed", "handed-over", "in-transit", "refused"], 1),
    (["cancelled"], 2),
]

# Hours an order typically spends before it moves to the status named (low, high), for the demo's timeline.
HOURS_HELD_BEFORE = {
    "confirmed": (0.1, 5),
    "awaiting-stock": (1, 30),
    "assembling": (1, 20),
    "packed": (0.2, 4),
    "handed-over": (1, 10),
    "in-transit": (2, 12),
    "delivered": (12, 72),
    "refused": (24, 96),
    "cancelled": (0.5, 30),
}


class Command(BaseCommand):
    help = "Create the demo shop with one user per role and a few hundred orders (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--orders", type=int, default=300)

    def handle(self, *args, force, orders, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo refuses to run with DEBUG off; pass --force if you really mean it.")
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            tenant = self.create_demo(orders)
        else:
            self.stdout.write("The demo shop already exists; leaving it as it is.")
        with rls.tenant_context(tenant.pk):
            self.print_logins(tenant)

    @transaction.atomic
    def create_demo(self, order_count: int) -> Tenant:
        rng = random.Random(42)  # noqa: S311 - demo data
        tenant = create_tenant(slug=DEMO_SLUG, name="Demo Shop")
        with rls.tenant_context(tenant.pk):
            self.fill_demo(tenant, rng, order_count)
        return tenant

    def fill_demo(self, tenant, rng, order_count: int) -> None:
        tenant.round_robin_assignment = True
        tenant.legal_name, tenant.address = "Demo Shop Ltd", "1 Market Street, Springfield"
        tenant.save()
        # One hash for the five logins (each costs a good fraction of a second by design); same password anyway.
        password_hash = make_password(DEMO_PASSWORD)
        for role in ROLES:
            user = ensure_user(username=role, email=f"{role}@demo.example", password_hash=password_hash)
            add_member(tenant=tenant, user=user, role=role)
        main = stock.create_warehouse(tenant=tenant, code="MAIN", name="Main warehouse", priority=10)
        spare = stock.create_warehouse(tenant=tenant, code="NORTH", name="North depot", priority=20)
        products = [
            stock.create_product(
                tenant=tenant, sku=sku, name=name, price=Decimal(price), barcode=f"460000000{i:03d}{i % 10}"
            )
            for i, (sku, name, price) in enumerate(PRODUCTS)
        ]
        stock.receive(tenant=tenant, warehouse=main, lines=[(p, 400) for p in products[:-2]], reason="opening stock")
        stock.receive(tenant=tenant, warehouse=spare, lines=[(p, 60) for p in products[:6]], reason="opening stock")
        # The two products with no stock are on order, so waiting orders show when they will ship.
        purchasing.create_purchase_order(
            tenant=tenant,
            supplier="Springfield Wholesale",
            warehouse_code="MAIN",
            expected_at=timezone.localdate() + timedelta(days=5),
            lines=[
                purchasing.PurchaseLine(p.sku, 40, (p.price * Decimal("0.45")).quantize(Decimal("0.01")))
                for p in products[-2:]
            ],
        )
        self.stdout.write(f"Creating {order_count} demo orders ...")
        for index in range(order_count):
            self.create_order(tenant, products, rng, index, order_count)
        self.make_split_families(tenant, products, rng)

    def create_order(self, tenant, products, rng, index, total):
        system = Actor.system("demo")
        days_ago = int((total - index) / total * 365)
        name = rng.choice(NAMES)
        chosen = rng.sample(products[:-2], rng.randint(1, 3))
        data = intake.OrderInput(
            customer_name=name,
            customer_phone=f"+7 900 {NAMES.index(name):03d}-{rng.randint(0, 3):02d}-00",
            customer_email=f"{name.split()[0].lower()}{rng.randint(0, 3)}@mail.example",
            channel=rng.choice(CHANNELS),
            delivery_method=rng.choice(["courier", "pickup point", "post"]),
            delivery_address=f"{rng.randint(1, 99)} Garden Road, Springfield",
            payment_method=rng.choice(["card", "cash on delivery"]),
            payment_status=rng.choice(["paid", "unpaid"]),
            lines=[intake.LineInput(sku=p.sku, quantity=rng.randint(1, 3)) for p in chosen],
            created_at=timezone.now() - timedelta(days=days_ago, hours=rng.randint(0, 23)),
        )
        order = intake.create_order(tenant=tenant, data=data, actor=system)
        path = rng.choices([p for p, _ in PATHS], weights=[w for _, w in PATHS])[0] if days_ago > 2 else []
        for code in path:
            self.advance(order, code, system)
        if path:
            self.spread_timeline(order, data.created_at, rng)

    def spread_timeline(self, order: Order, created_at, rng) -> None:
        """Space the demo's status changes as real ones are (they all ran just now), all of them in the past.

        Entries between two status changes (reservations, shipment facts) keep their place after the first.
        """
        entries = list(OrderActivity.objects.filter(order=order).exclude(kind=ActivityKind.CREATED).order_by("pk"))
        held = {
            entry.pk: rng.uniform(*HOURS_HELD_BEFORE.get(entry.changes["status"][1], (1, 24)))
            for entry in entries
            if entry.kind == ActivityKind.STATUS
        }
        room = (timezone.now() - created_at).total_seconds() / 3600 * 0.9
        scale = min(1.0, room / sum(held.values()))  # a recent order moved faster rather than into the future
        moment = created_at
        for entry in entries:
            moment += timedelta(hours=held.get(entry.pk, 0) * scale)
            entry.at = moment
        OrderActivity.objects.bulk_update(entries, ["at"])
        Order.objects.filter(pk=order.pk).update(status_changed_at=moment)

    def advance(self, order: Order, code: str, actor: Actor) -> None:
        order.refresh_from_db()
        if code == "assembling":
            reservations.reserve_order(order=order, actor=actor)
        if code == "packed" or (code == "handed-over" and order.packing_verified_at is None):
            # A packed demo order is packed in fact, so the packing queue and the packed panel agree.
            editing.record_shipment_fact(order=order, fact="packing_verified_at", actor=actor)
        if code == "handed-over":
            editing.record_shipment_fact(order=order, fact="handed_over_at", actor=actor)
        if code == "delivered":
            editing.record_shipment_fact(order=order, fact="delivered_at", actor=actor)
        statuses.change_status(order=order, to_code=code, actor=actor)

    def make_split_families(self, tenant, products, rng):
        """A few orders wanting a scarce product: reserved in part, the rest split off."""
        system = Actor.system("demo")
        scarce = products[-2]
        stock.receive(
            tenant=tenant,
            warehouse=Warehouse.objects.get(tenant=tenant, code="MAIN"),
            lines=[(scarce, 3)],
            reason="small delivery",
        )
        for index in range(4):
            name = NAMES[index]
            data = intake.OrderInput(
                customer_name=name,
                customer_phone=f"+7 900 {index:03d}-00-00",
                channel="web",
                delivery_method="courier",
                delivery_address="5 Hill Lane, Springfield",
                payment_method="card",
                lines=[intake.LineInput(sku=products[0].sku, quantity=1), intake.LineInput(sku=scarce.sku, quantity=2)],
                created_at=timezone.now() - timedelta(days=20 - index),
            )
            order = intake.create_order(tenant=tenant, data=data, actor=system)
            statuses.change_status(order=order, to_code="confirmed", actor=system)
            reservations.reserve_order(order=order, actor=system)
            try:
                families.split_unavailable(order=order, actor=system)
            except NothingToSplit:
                continue

    def print_logins(self, tenant):
        count = Order.objects.filter(tenant=tenant).count()
        products = Product.objects.filter(tenant=tenant).count()
        self.stdout.write(self.style.SUCCESS(f"Demo shop '{tenant.name}': {count} orders, {products} products."))
        self.stdout.write("Logins (password for all: demo-pass-1): " + ", ".join(ROLES))

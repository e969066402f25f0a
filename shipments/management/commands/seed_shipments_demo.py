"""Demo data for the shipments screens: a sandbox carrier, and packed orders handed to the demo courier and to it.

    python manage.py seed_shipments_demo [--tenant demo]

Run after `seed_demo`. Safe to run twice: it only hands over packed orders still in the warehouse.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oms import rls
from oms.actors import Actor
from oms.models import Tenant
from orders.models import Group, Order
from shipments.errors import HandoverRefused
from shipments.models import Carrier, CarrierKind, CustodyTransfer, HolderKind
from shipments.services import custody, packing


class Command(BaseCommand):
    help = "Give the demo shop a sandbox carrier, a courier route of today and a few tracked parcels."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, tenant, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to seed demo data with DEBUG off; pass --force if you mean it.")
        shop = Tenant.objects.filter(slug=tenant).first()
        if shop is None:
            raise CommandError(f"No tenant '{tenant}'; run seed_demo first.")
        with rls.tenant_context(shop.pk):
            self.seed(shop)

    def seed(self, shop):
        actor = Actor.system("demo")
        sandbox, created = Carrier.objects.get_or_create(
            tenant=shop,
            name="Sandbox Express",
            defaults={
                "kind": CarrierKind.SANDBOX,
                "poll_interval_seconds": 60,
                "status_mapping": {"minutes_per_step": 1},
            },
        )
        if not created:
            self.stdout.write("Shipment demo data already exists; leaving it as it is.")
            return
        self.custody_of_past_deliveries(shop, sandbox)
        courier = get_user_model().objects.filter(username="courier", memberships__tenant=shop).first()
        waiting = list(
            Order.objects.filter(tenant=shop, group=Group.ASSEMBLY, handed_over_at__isnull=True)
            .select_related("status", "customer")
            .order_by("created_at")[:40]
        )
        handed = {"courier": 0, "sandbox": 0}
        for order in waiting:
            if handed["courier"] >= 4 and handed["sandbox"] >= 3:
                break
            if order.packing_verified_at is None:
                if order.status.purpose != "packed":
                    continue
                for line in order.lines.select_related("product"):
                    for _ in range(line.quantity):
                        order = packing.scan_item(order=order, code=line.product.sku, actor=actor).order
            target = "courier" if courier is not None and handed["courier"] < 4 else "sandbox"
            try:
                if target == "courier":
                    custody.hand_over(order=order, actor=actor, courier=courier)
                else:
                    custody.hand_over(order=order, actor=actor, carrier=sandbox)
            except HandoverRefused as exc:
                self.stdout.write(f"skipped {order.number}: {exc.message}")
                continue
            handed[target] += 1
        self.stdout.write(
            f"Sandbox carrier '{sandbox.name}'; handed {handed['courier']} order(s) to the courier and "
            f"{handed['sandbox']} to the sandbox carrier (tracking advances a step a minute)."
        )

    def custody_of_past_deliveries(self, shop, carrier):
        """The demo's older orders left the warehouse before shipments existed in it: their custody chain (the
        warehouse to the carrier, the carrier to the customer) at the times their facts say, so the custody panel
        and the order's history agree."""
        rows = []
        shipped = Order.objects.filter(tenant=shop, handed_over_at__isnull=False).select_related("customer")
        for order in shipped:
            rows.append(
                CustodyTransfer(
                    tenant=shop,
                    order_id=order.pk,
                    from_kind=HolderKind.WAREHOUSE,
                    from_label="Warehouse",
                    to_kind=HolderKind.CARRIER,
                    to_carrier=carrier,
                    to_label=carrier.name,
                    scanned_by_label="demo",
                    at=order.handed_over_at,
                )
            )
            if order.delivered_at:
                rows.append(
                    CustodyTransfer(
                        tenant=shop,
                        order_id=order.pk,
                        from_kind=HolderKind.CARRIER,
                        from_carrier=carrier,
                        from_label=carrier.name,
                        to_kind=HolderKind.CUSTOMER,
                        to_label=(order.customer.name or "Customer")[:150],
                        scanned_by_label="demo",
                        at=order.delivered_at,
                    )
                )
        CustodyTransfer.objects.bulk_create(rows)

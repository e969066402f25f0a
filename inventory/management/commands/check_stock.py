"""Verify stock: on-hand against the ledger, reserved against the reservations, and what holds them against them."""

from django.core.management.base import BaseCommand, CommandError

from inventory.models import StockLevel
from inventory.selectors import holder_drift, ledger_drift, reservation_drift
from oms import rls
from oms.models import Tenant


class Command(BaseCommand):
    help = (
        "Check every stock level (of one tenant or all): on-hand equals the sum of the ledger, reserved equals the "
        "sum of its reservations; and every order line's reserved equals its reservations plus what shipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="Check only this tenant.")

    def handle(self, *args, tenant=None, **options):
        tenants = Tenant.objects.order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug '{tenant}'.")
        ledger = held = holders = levels = 0
        for shop in tenants:
            with rls.tenant_context(shop.pk):  # row-level security shows a connection one tenant at a time
                levels += StockLevel.objects.filter(tenant=shop).count()
                drift = ledger_drift(tenant=shop)
                reserved = reservation_drift(tenant=shop)
                lines = holder_drift(tenant=shop)
            for warehouse, sku, on_hand, total in drift:
                ledger += 1
                self.stdout.write(
                    f"DRIFT {shop.slug} {warehouse} {sku}: on hand {on_hand}, ledger {total} ({on_hand - total:+d})"
                )
            for warehouse, sku, level_reserved, total in reserved:
                held += 1
                self.stdout.write(
                    f"RESERVED {shop.slug} {warehouse} {sku}: reserved {level_reserved}, reservations {total} "
                    f"({level_reserved - total:+d})"
                )
            for text in lines:
                holders += 1
                self.stdout.write(f"LINE {shop.slug} {text}")
        problems = [
            f"{count} {what}"
            for count, what in (
                (ledger, "stock level(s) differ from their ledger"),
                (held, "stock level(s) differ from their reservations"),
                (holders, "order line(s) differ from their reservations"),
            )
            if count
        ]
        if problems:
            raise CommandError("; ".join(problems) + ".")
        count = tenants.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {levels} stock level(s) in {count} tenant(s) match their ledger and reservations; "
                "order lines match their reservations."
            )
        )

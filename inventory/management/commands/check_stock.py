"""Verify the stock ledger: every stock level's on-hand must equal the sum of its movements."""

from django.core.management.base import BaseCommand, CommandError

from inventory.models import StockLevel
from inventory.selectors import ledger_drift
from oms import rls
from oms.models import Tenant


class Command(BaseCommand):
    help = "Check that on-hand stock equals the sum of the ledger for every stock level (of one tenant or all)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="Check only this tenant.")

    def handle(self, *args, tenant=None, **options):
        tenants = Tenant.objects.order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug '{tenant}'.")
        drifting = levels = 0
        for shop in tenants:
            with rls.tenant_context(shop.pk):  # row-level security shows a connection one tenant at a time
                levels += StockLevel.objects.filter(tenant=shop).count()
                drift = ledger_drift(tenant=shop)
            for warehouse, sku, on_hand, ledger in drift:
                drifting += 1
                self.stdout.write(
                    f"DRIFT {shop.slug} {warehouse} {sku}: on hand {on_hand}, ledger {ledger} ({on_hand - ledger:+d})"
                )
        if drifting:
            raise CommandError(f"{drifting} stock level(s) differ from their ledger.")
        count = tenants.count()
        self.stdout.write(self.style.SUCCESS(f"OK: {levels} stock level(s) in {count} tenant(s) match their ledger."))

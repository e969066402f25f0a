"""Build the owners' report summaries now (what the beat task does every few minutes), e.g. right after seeding."""

from django.core.management.base import BaseCommand, CommandError

from oms.models import Tenant

from ...tasks import refresh_tenant_summaries


class Command(BaseCommand):
    help = "Build the report summaries of one shop (or of every shop) now."

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?", help="The shop's slug; every shop when left out.")

    def handle(self, *args, slug=None, **options):
        shops = Tenant.objects.order_by("pk")
        if slug:
            shops = shops.filter(slug=slug)
            if not shops.exists():
                raise CommandError(f"No shop with the slug '{slug}'.")
        for shop in shops:
            built = refresh_tenant_summaries(shop.pk, force=True)
            self.stdout.write(f"{shop.slug}: reports built ({', '.join(f'{k} {v}' for k, v in built.items())})")

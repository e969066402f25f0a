from django.core.management.base import BaseCommand, CommandError

from oms.lifecycle import delete_tenant, tenant_data_counts
from oms.models import Tenant


class Command(BaseCommand):
    help = "Delete a tenant and all its data. Counts what would go with --dry-run; needs --yes to delete."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")
        parser.add_argument("--yes", action="store_true", help="Confirm the deletion.")

    def handle(self, *args, slug, dry_run, yes, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug '{slug}'.")
        counts = tenant_data_counts(tenant)
        for table, count in counts.items():
            self.stdout.write(f"{table:45} {count:>10}")
        self.stdout.write(f"{'total':45} {sum(counts.values()):>10}")
        if dry_run:
            self.stdout.write("Dry run: nothing was deleted.")
            return
        if not yes:
            raise CommandError("This deletes everything above for good. Run again with --yes to confirm.")
        delete_tenant(tenant)
        self.stdout.write(self.style.SUCCESS(f"Tenant '{slug}' and all its data were deleted."))

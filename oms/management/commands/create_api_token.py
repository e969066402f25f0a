from django.core.management.base import BaseCommand, CommandError

from oms.models import Tenant
from oms.rls import tenant_context
from oms.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a tenant and print it once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="default")

    def handle(self, *args, slug, name, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug '{slug}'.")
        with tenant_context(tenant.pk):
            token, raw = create_api_token(tenant=tenant, name=name)
        self.stdout.write(f"Token '{token.name}' for tenant '{tenant.slug}' (shown once, store it safely):")
        self.stdout.write(raw)

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oms.services import TenantExists, create_tenant


class Command(BaseCommand):
    help = "Create a tenant with the default status catalogue and transition matrix (and an owner when asked)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", default="")
        parser.add_argument("--owner-password", default="")

    def handle(self, *args, slug, name, owner_email, owner_password, **options):
        if owner_email and not owner_password:
            raise CommandError("--owner-password is required with --owner-email.")
        try:
            tenant = create_tenant(slug=slug, name=name, owner_email=owner_email, owner_password=owner_password)
        except TenantExists as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created tenant '{tenant.slug}' ({tenant.name})."))

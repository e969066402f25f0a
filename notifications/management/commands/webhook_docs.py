"""Print the webhook receivers' page (docs/webhooks.md), written from the event catalogue."""

from django.core.management.base import BaseCommand

from notifications.webhook_docs import markdown


class Command(BaseCommand):
    help = "Print docs/webhooks.md from the event catalogue: python manage.py webhook_docs > docs/webhooks.md"

    def handle(self, *args, **options):
        self.stdout.write(markdown(), ending="")

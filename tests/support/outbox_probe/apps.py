import os
import time

from django.apps import AppConfig


def record_delivery(event):
    """A subscriber with a visible side effect in the database, slow enough to be killed mid-way."""
    from .models import ProbeDelivery

    time.sleep(float(os.environ.get("PROBE_DELAY", "0")))
    ProbeDelivery.objects.create(event_id=event.pk)


class OutboxProbeConfig(AppConfig):
    name = "tests.support.outbox_probe"
    label = "outbox_probe"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.events import subscribe

        subscribe("probe.ping", record_delivery, name="probe.record_delivery")

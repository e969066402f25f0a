from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import events, rls
from .models import Event, IdempotencyKey
from .observability import beat_heartbeat

SWEEP_BATCH = 500


@shared_task(acks_late=True)
def dispatch_event(event_id: int) -> bool:
    return events.dispatch(event_id)


@shared_task(acks_late=True)
def sweep_outbox(older_than_seconds: int = 30) -> int:
    """Re-dispatch events left behind (worker down, broker lost the message, a subscriber failed)."""
    stale_before = timezone.now() - timedelta(seconds=older_than_seconds)
    with rls.all_tenants():
        ids = list(
            Event.objects.filter(dispatched_at__isnull=True, created_at__lt=stale_before)
            .order_by("created_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
    for event_id in ids:
        events.dispatch(event_id)
    return len(ids)


@shared_task
def purge_idempotency_keys() -> int:
    with rls.all_tenants():
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - timedelta(hours=48)).delete()
    return deleted


@shared_task
def heartbeat() -> None:
    """Run by a worker on beat's schedule; /healthz reads how long ago it last ran."""
    beat_heartbeat()

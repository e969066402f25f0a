"""Celery tasks: take ids, are safe to run twice, call services. Sweeps list work across tenants in the
explicit system scope; the work on one delivery runs inside its tenant."""

from celery import shared_task

from oms import events

from .models import WebhookDelivery
from .services import sla, webhooks

try:  # row-level security (oms.rls) binds the application role; without it these scopes are no-ops
    from oms.rls import all_tenants, tenant_context
except ImportError:  # pragma: no cover
    from contextlib import nullcontext

    def all_tenants():
        return nullcontext()

    def tenant_context(tenant_id):
        return nullcontext()


@shared_task(acks_late=True)
def sweep_time_limits() -> int:
    """Beat: mark orders past their time limit overdue (reads the `order_sla_due` index only)."""
    with all_tenants():
        return sla.sweep_overdue()


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> bool:
    with all_tenants():
        tenant_id = WebhookDelivery.objects.filter(pk=delivery_id).values_list("tenant_id", flat=True).first()
    if tenant_id is None:
        return False
    with tenant_context(tenant_id):
        return webhooks.deliver(delivery_id) is not None


@shared_task(acks_late=True)
def sweep_webhooks() -> int:
    """Beat: send deliveries whose (re)try time has come; the claim lease keeps each attempt single."""
    with all_tenants():
        ids = webhooks.due_delivery_ids()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)


@shared_task(acks_late=True)
def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch a batch of outbox events (as `oms.tasks.dispatch_event` does one); safe to repeat."""
    for event_id in event_ids:
        events.dispatch(event_id)
    return len(event_ids)

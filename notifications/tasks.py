"""Celery tasks: take ids, are safe to run twice, call services. Sweeps list work across tenants in the
explicit system scope; the work on one delivery runs inside its tenant."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from oms import rls
from oms.events import send_task

from . import system
from .services import sla, webhooks


@shared_task(acks_late=True)
def sweep_time_limits() -> int:
    """Beat: mark orders past their time limit overdue (reads the `orderdeadline_due` index only)."""
    now = timezone.now()
    marked = 0
    for tenant_id in rls.system_rows(system.tenants_past_deadline, now):
        with rls.tenant_context(tenant_id[0]):
            marked += sla.sweep_overdue(now=now)
    return marked


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> bool:
    tenant_id = rls.system_value(system.delivery_tenant, delivery_id)
    if tenant_id is None:
        return False
    with rls.tenant_context(tenant_id):
        return webhooks.deliver(delivery_id) is not None


@shared_task(acks_late=True)
def sweep_webhooks() -> int:
    """Beat: send deliveries whose (re)try time has come; the claim lease keeps each attempt single."""
    now = timezone.now()
    by_tenant: dict[int, list[int]] = {}
    for delivery_id, tenant_id in rls.system_rows(system.due_deliveries, now, webhooks.SWEEP_BATCH):
        by_tenant.setdefault(tenant_id, []).append(delivery_id)
    queued = 0
    for tenant_id, ids in by_tenant.items():
        with rls.tenant_context(tenant_id), transaction.atomic():
            claimed = webhooks.claim_for_queue(delivery_ids=ids, now=now)
        for delivery_id in claimed:  # the claims are committed: a second sweep will not queue them again
            send_task(deliver_webhook, delivery_id)
        queued += len(claimed)
    return queued

"""Celery tasks: take ids, are safe to run twice, call services. Sweeps list work across tenants in the
explicit system scope; the work on one delivery runs inside its tenant."""

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from oms import rls
from oms.events import send_task

from . import system
from .services import messaging, sla, webhooks


@shared_task(acks_late=True)
def sweep_time_limits() -> int:
    """Beat: mark orders past their time limit overdue (reads the `orderdeadline_due` index only)."""
    now = timezone.now()
    marked = 0
    for _ in range(SLA_ROUNDS):  # the question looks at the first 10,000 deadlines due: ask again after marking
        found = rls.each_tenant(
            [tenant_id for (tenant_id,) in rls.system_rows(system.tenants_past_deadline, now)],
            lambda _: sla.sweep_overdue(now=now),
            what="The time-limit sweep",
        )
        marked += found
        if not found:
            return marked
    return marked


SLA_ROUNDS = 10


@shared_task(acks_late=True)
def deliver_webhooks(delivery_ids: list[int], tenant_id: int) -> int:
    """Attempt the deliveries one after another (one endpoint's, queued together by `webhooks.queue_claimed`); they
    are claimed together first, so a repeated message sends nothing twice. A wrong tenant finds no delivery behind
    the wall. Returns how many were attempted."""
    with rls.tenant_context(tenant_id):
        return webhooks.deliver(delivery_ids)


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
        webhooks.queue_claimed(tenant_id, claimed)  # the claims are committed: a second sweep will not queue them
        queued += len(claimed)
    return queued


@shared_task(acks_late=True)
def send_message(log_id: int) -> bool:
    """Send one queued message to a customer (safe to run twice: the claim lets one run send)."""
    tenant_id = rls.system_value(system.message_tenant, log_id)
    if tenant_id is None:
        return False
    with rls.tenant_context(tenant_id):
        return messaging.send_queued(log_id) is not None


MESSAGE_SWEEP_BATCH = 500
MESSAGE_STALE = timedelta(seconds=60)


@shared_task(acks_late=True)
def sweep_messages() -> int:
    """Beat: queue messages whose task was lost (queued and due for over a minute) and settle those whose sender died
    mid-send (see `messaging.settle_interrupted`); the claim in `send_queued` keeps a repeated task harmless."""
    now = timezone.now()
    by_tenant: dict[int, list[int]] = {}
    interrupted: set[int] = set()
    for log_id, tenant_id, state in rls.system_rows(system.due_messages, now - MESSAGE_STALE, MESSAGE_SWEEP_BATCH):
        if state == "sending":
            interrupted.add(tenant_id)
        else:
            by_tenant.setdefault(tenant_id, []).append(log_id)
    handled = rls.each_tenant(
        interrupted, lambda _: messaging.settle_interrupted(now=now), what="Settling interrupted messages"
    )
    for ids in by_tenant.values():
        for log_id in ids:
            send_task(send_message, log_id)
        handled += len(ids)
    return handled

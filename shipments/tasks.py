"""Beat-driven work of the shipments module. Tasks take ids, reload, set the tenant context, and are safe to run
twice. The sweeps list work across tenants in the explicit system scope; each piece runs inside its tenant."""

from celery import shared_task
from django.utils import timezone

from oms import rls

from . import system
from .services import routes, tracking

POLL_SPREAD_SECONDS = 50  # a minute's batch of polls is spread over the minute, not fired at once


@shared_task(acks_late=True)
def check_route_deadlines() -> int:
    """Incidents for routes past their departure deadline or left open after the end of the day."""
    tenant_ids = [row[0] for row in rls.system_rows(system.tenants_with_open_routes, timezone.localdate())]
    return rls.each_tenant(
        tenant_ids,
        lambda tenant_id: len(routes.find_incidents(tenant_id=tenant_id)),
        what="Checking route deadlines",
    )


@shared_task(acks_late=True)
def poll_due_shipments() -> int:
    """Enqueue a poll for each shipment due, spread over the next minute."""
    due = rls.system_rows(system.due_polls, timezone.now(), tracking.POLL_BATCH)
    for index, (shipment_id, tenant_id) in enumerate(due):
        countdown = (index * POLL_SPREAD_SECONDS) // max(len(due), 1)
        poll_shipment.apply_async(args=[shipment_id, tenant_id], countdown=countdown)
    return len(due)


@shared_task(acks_late=True)
def poll_shipment(shipment_id: int, tenant_id: int) -> str | None:
    with rls.tenant_context(tenant_id):
        shipment = tracking.poll_shipment(shipment_id=shipment_id)
    return shipment.state if shipment else None

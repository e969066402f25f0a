"""Beat-driven work of the shipments module. Tasks take ids, reload, and are safe to run twice."""

from celery import shared_task

from .services import routes, tracking

POLL_SPREAD_SECONDS = 50  # a minute's batch of polls is spread over the minute, not fired at once


@shared_task(acks_late=True)
def check_route_deadlines() -> int:
    """Incidents for routes past their departure deadline or left open after the end of the day."""
    return len(routes.find_incidents())


@shared_task(acks_late=True)
def poll_due_shipments() -> int:
    """Enqueue a poll for each shipment due, spread over the next minute."""
    ids = tracking.due_shipment_ids()
    for index, shipment_id in enumerate(ids):
        countdown = (index * POLL_SPREAD_SECONDS) // max(len(ids), 1)
        poll_shipment.apply_async(args=[shipment_id], countdown=countdown)
    return len(ids)


@shared_task(acks_late=True)
def poll_shipment(shipment_id: int) -> str | None:
    shipment = tracking.poll_shipment(shipment_id=shipment_id)
    return shipment.state if shipment else None

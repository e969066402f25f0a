"""Celery tasks of orders: take ids, are safe to run twice, call services."""

from celery import shared_task

from oms import rls

from .services.waiting import serve_waiting_orders


@shared_task(acks_late=True)
def serve_waiting(tenant_id: int, product_ids: list[int]) -> int:
    """Reserve the orders waiting for these products, each order in its own short transaction (one long
    transaction over many orders would hold their rows while other work locks them in another order)."""
    with rls.tenant_context(tenant_id):
        return len(serve_waiting_orders(tenant_id=tenant_id, product_ids=product_ids))

"""Celery tasks of the stock module: take ids, are safe to run twice, call services."""

from celery import shared_task

from oms import rls
from oms.models import Tenant

from . import reorder


@shared_task(acks_late=True)
def sweep_low_stock() -> int:
    """Beat: raise `stock.low` for levels that fell below their minimum (once per dip), shop by shop."""
    raised = 0
    for tenant in Tenant.objects.order_by("pk"):
        with rls.tenant_context(tenant.pk):
            raised += reorder.sweep_low_stock(tenant=tenant)
    return raised

"""Celery tasks of the stock module: take ids, are safe to run twice, call services."""

from celery import shared_task

from oms import rls
from oms.models import Tenant

from . import reorder


@shared_task(acks_late=True)
def sweep_low_stock() -> int:
    """Beat: raise `stock.low` for levels that fell below their minimum (once per dip), shop by shop."""
    return rls.each_tenant(
        Tenant.objects.order_by("pk").values_list("pk", flat=True),
        lambda tenant_id: reorder.sweep_low_stock(tenant=Tenant.objects.get(pk=tenant_id)),
        what="The low-stock sweep",
    )

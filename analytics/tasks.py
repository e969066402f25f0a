from celery import shared_task

from oms.models import Tenant

from . import services


@shared_task(acks_late=True)
def refresh_purchase_summaries() -> int:
    """Beat: rebuild the purchase summary of every tenant whose orders changed since its last rebuild."""
    rebuilt = 0
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        rebuilt += refresh_tenant_purchases(tenant_id) is not None
    return rebuilt


@shared_task(acks_late=True)
def refresh_tenant_purchases(tenant_id: int, force: bool = False) -> int | None:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    return None if tenant is None else services.refresh_purchases(tenant=tenant, force=force)

from celery import shared_task

from oms import rls
from oms.models import Tenant

from . import services


@shared_task(acks_late=True)
def refresh_purchase_summaries() -> int:
    """Beat: bring the purchase and stay summaries of every tenant up to date (unchanged ones are skipped)."""
    return rls.each_tenant(
        Tenant.objects.order_by("pk").values_list("pk", flat=True),
        lambda tenant_id: any(value is not None for value in refresh_tenant_summaries(tenant_id).values()),
        what="Refreshing the purchase summaries",
    )


@shared_task(acks_late=True)
def refresh_tenant_summaries(tenant_id: int, force: bool = False) -> dict:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    with rls.tenant_context(tenant.pk):  # the summaries read and write this tenant's rows only
        return services.refresh_summaries(tenant=tenant, force=force)


@shared_task(acks_late=True)
def refresh_tenant_purchases(tenant_id: int, force: bool = False) -> int | None:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return None
    with rls.tenant_context(tenant.pk):
        return services.refresh_purchases(tenant=tenant, force=force)

from oms.tenancy.shortcuts import get_for_tenant_or_404

from ..models import Order


def order_for(request, pk) -> Order:
    return get_for_tenant_or_404(Order.objects.select_related("status", "customer", "manager"), request.tenant, pk=pk)

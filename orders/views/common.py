from collections.abc import Callable
from typing import Any

from django.contrib import messages

from oms.actors import Actor
from oms.errors import DomainError
from oms.tenancy.shortcuts import get_for_tenant_or_404

from ..models import Order


def order_for(request, pk) -> Order:
    return get_for_tenant_or_404(Order.objects.select_related("status", "customer", "manager"), request.tenant, pk=pk)


def run_service(request, action, success: str | Callable[[Any], str] | None = None):
    """Call a service; a domain error becomes an error message (nothing was written). Returns (ok, result).

    `success` is our own format string (`"Order {result.number} created."`), or a function of the result when
    the text holds anything users typed: `str.format` on user text would let a `{result.…}` walk objects.
    """
    try:
        result = action(Actor.of_request(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return False, exc
    if callable(success):
        messages.success(request, success(result))
    elif success:
        messages.success(request, success.format(result=result))
    return True, result

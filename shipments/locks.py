"""Where shipments rows are locked. Fixed order everywhere: the order row first, then its route, then a stop."""

from orders.locks import lock_order, lock_order_by_id  # the order row's lock helpers live in orders; re-exported

from .models import CustomerReturn, Incident, Route, RouteStop, Shipment, ShipmentSettings

__all__ = [
    "lock_customer_return",
    "lock_incident",
    "lock_last_stop_of",
    "lock_order",
    "lock_order_by_id",
    "lock_order_and_shipment",
    "lock_route",
    "lock_settings",
    "lock_shipment",
    "lock_stop",
]


def lock_route(route: Route) -> Route:
    return Route.objects.select_for_update().get(pk=route.pk, tenant_id=route.tenant_id)


def lock_stop(stop: RouteStop) -> RouteStop:
    return (
        RouteStop.objects.select_for_update(of=("self",))
        .select_related("route")
        .get(pk=stop.pk, tenant_id=stop.tenant_id)
    )


def lock_last_stop_of(*, order, courier) -> RouteStop | None:
    """The courier's latest stop for the order (the order row is locked first)."""
    return (
        RouteStop.objects.select_for_update(of=("self",))
        .filter(tenant_id=order.tenant_id, order=order, route__courier=courier)
        .order_by("-route__date", "-pk")
        .first()
    )


def lock_shipment(shipment_id: int) -> Shipment | None:
    """The shipment row alone; a service that also changes its order locks with `lock_order_and_shipment`."""
    return Shipment.objects.select_for_update(of=("self",)).select_related("carrier").filter(pk=shipment_id).first()


def lock_order_and_shipment(shipment_id: int) -> Shipment | None:
    """The shipment's order row, then the shipment row (the house order, so a poll and a handover of the same
    order never wait on each other in opposite orders). None when the shipment is gone."""
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None:
        return None
    lock_order(shipment.order)
    return lock_shipment(shipment_id)


def lock_incident(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk, tenant_id=incident.tenant_id)


def lock_settings(settings: ShipmentSettings) -> ShipmentSettings:
    return ShipmentSettings.objects.select_for_update().get(pk=settings.pk)


def lock_customer_return(customer_return: CustomerReturn) -> CustomerReturn:
    """After its order (the house order): the return row, so two receipts of one return book it once."""
    return CustomerReturn.objects.select_for_update().get(pk=customer_return.pk, tenant_id=customer_return.tenant_id)

"""Where shipments rows are locked. Fixed order everywhere: the order row first, then its route, then a stop."""

from orders.models import Order

from .models import Route, RouteStop, Shipment


def lock_order(order: Order) -> Order:
    """The order row, locked: packing scans, handover and returns of one order queue here one at a time."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("status")
        .get(pk=order.pk, tenant_id=order.tenant_id)
    )


def lock_route(route: Route) -> Route:
    return Route.objects.select_for_update().get(pk=route.pk, tenant_id=route.tenant_id)


def lock_stop(stop: RouteStop) -> RouteStop:
    return (
        RouteStop.objects.select_for_update(of=("self",))
        .select_related("route")
        .get(pk=stop.pk, tenant_id=stop.tenant_id)
    )


def lock_shipment(shipment_id: int) -> Shipment | None:
    return Shipment.objects.select_for_update(of=("self",)).select_related("carrier").filter(pk=shipment_id).first()

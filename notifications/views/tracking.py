"""The customer's tracking page: public, found only by its signed link."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from orders.models import Group

from ..services import tracking

WAITING = (Group.NEW, Group.APPROVAL, Group.ASSEMBLY)  # a split-off part that has not left yet


@never_cache
def track(request, token):  # public by design: the signature is the key (no role, no session)
    order = tracking.order_for_token(token)
    if order is None:
        raise Http404("No such order.")
    context = {
        "order": order,
        "lines": [(line.product.name, line.quantity) for line in order.lines.all()],
        "steps": tracking.customer_timeline(order),
        "window": tracking.delivery_window(order),
        "shipment": tracking.shipment_for(order),
        "shop": order.tenant.name,
        "parts": tracking.parts_that_follow(order),
        "parcel": tracking.this_parcel(order) if order.parent_id and order.group in WAITING else None,
    }
    response = render(request, "notifications/track.html", context)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response

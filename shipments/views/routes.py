"""A courier's route on the phone: depart, delivered / failed per order, close."""

from decimal import Decimal
from urllib.parse import quote

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import COURIER, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from .. import selectors
from ..errors import RouteRuleBroken
from ..models import Route, RouteStop
from ..services import routes as service
from ..services.custody import amount_to_collect

FAIL_REASONS = [
    gettext_lazy("Nobody at the address"),
    gettext_lazy("Customer refused"),
    gettext_lazy("Wrong address"),
    gettext_lazy("Customer asked to reschedule"),
]


MAP_SEARCH = "https://www.openstreetmap.org/search?query="


def map_link(address: str) -> str:
    """A map search for the stop's address; the phone opens it in its maps app or browser."""
    address = " ".join((address or "").split())
    return MAP_SEARCH + quote(address) if address else ""


def lateness_minutes(route, now=None) -> int:
    """Minutes past the departure deadline: still not departed (up to now), or departed after it."""
    if route is None:
        return 0
    moment = route.departed_at or (now or timezone.now())
    return max(0, int((moment - route.deadline).total_seconds() // 60))


def route_context(request, route):
    stops = list(selectors.route_stops(route=route)) if route else []
    for stop in stops:
        # A delivered stop keeps what was due when it was delivered (the cash is the order's payment by then).
        stop.due = (stop.amount_due or 0) if stop.result == "delivered" else amount_to_collect(stop.order)
        stop.map_url = map_link(stop.order.delivery_address or stop.order.customer.address)
    return {
        "cash_due": sum((s.due for s in stops if s.result != "failed"), Decimal("0.00")),
        "cash_collected": sum((s.amount_collected or 0 for s in stops), Decimal("0.00")),
        "route": route,
        "stops": stops,
        "open_count": sum(1 for s in stops if not s.result),
        "fail_reasons": FAIL_REASONS,
        "late_minutes": lateness_minutes(route),
    }


def respond(request, route, **extra):
    if request.method == "POST" and not request.htmx:
        return redirect("shipments:route")
    if route is not None and request.method == "POST":
        route.refresh_from_db()  # the service wrote a locked copy; the screen shows what it did
    template = "shipments/route.html#route" if request.htmx else "shipments/route.html"
    return render(request, template, {**route_context(request, route), **extra})


@vary_on_headers("HX-Request")
@role_required(COURIER)
def route(request):
    return respond(request, selectors.todays_route(tenant=request.tenant, courier=request.user))


def _own_route(request, pk) -> Route:
    return get_for_tenant_or_404(Route.objects.filter(courier=request.user), request.tenant, pk=pk)


def _own_stop(request, pk) -> RouteStop:
    return get_for_tenant_or_404(
        RouteStop.objects.filter(route__courier=request.user).select_related("route", "order"), request.tenant, pk=pk
    )


@require_POST
@role_required(COURIER)
def route_depart(request, pk):
    route = _own_route(request, pk)
    run_service(
        request, lambda actor: service.depart(route=route, actor=actor), gettext("Departure recorded. Safe trip!")
    )
    return respond(request, route)


@require_POST
@role_required(COURIER)
def route_close(request, pk):
    route = _own_route(request, pk)
    run_service(request, lambda actor: service.close(route=route, actor=actor), gettext("Route closed."))
    return respond(request, route)


@require_POST
@role_required(COURIER)
def stop_deliver(request, pk):
    stop = _own_stop(request, pk)
    amount = request.POST.get("amount_collected", "")
    typed, due = _typed_amount(amount), amount_to_collect(stop.order)
    if typed is not None and typed < due and request.POST.get("confirm_amount") != str(typed):
        # Cash short of what is due is a mistake more often than not: recorded when the courier says twice (more than
        # is due the service refuses).
        messages.warning(
            request,
            gettext("%(typed)s is not the %(due)s due. Count the cash, then press Delivered again to record %(typed)s.")
            % {"typed": number_format(typed, 2), "due": number_format(due, 2)},
        )
        return respond(request, stop.route, confirm_stop=stop.pk, confirm_amount=str(typed))
    run_service(
        request,
        lambda actor: service.deliver(stop=stop, actor=actor, amount_collected=amount),
        lambda _: gettext("Order %(number)s delivered.") % {"number": stop.order.number},
    )
    return respond(request, stop.route)


def _typed_amount(raw: str):
    try:
        return service.parse_amount(raw)
    except RouteRuleBroken:
        return None  # the service refuses it with its message


@require_POST
@role_required(COURIER)
def stop_fail(request, pk):
    stop = _own_stop(request, pk)
    reason = request.POST.get("reason_other", "").strip() or request.POST.get("reason", "")
    run_service(
        request,
        lambda actor: service.fail(stop=stop, actor=actor, reason=reason),
        lambda _: gettext("Order %(number)s marked failed.") % {"number": stop.order.number},
    )
    return respond(request, stop.route)

"""The packing station: scan an order, then scan every unit; one htmx request per scan."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404
from orders.models import Order

from .. import selectors
from ..services import packing as service
from .common import WAREHOUSE_STAFF, no_order, trigger


@role_required(*WAREHOUSE_STAFF)
def packing(request):
    """Start screen of packers: scan an order number; the queue of orders waiting, oldest first."""
    queue = selectors.packing_queue(tenant=request.tenant, user=request.user)
    return render(
        request,
        "shipments/packing.html",
        {
            "queue": list(queue[: selectors.QUEUE_SIZE]),
            "queue_count": queue.count(),
            "packed": list(selectors.packed_waiting(tenant=request.tenant)[:20]),
        },
    )


def _station_url(order):
    return reverse("shipments:packing_station", args=[order.pk])


@require_POST
@role_required(*WAREHOUSE_STAFF)
def packing_open(request):
    """Open the station for a scanned order number (refused loudly when it cannot be packed)."""
    code = request.POST.get("order", "")
    order = selectors.order_by_number(tenant=request.tenant, number=code)
    error = None
    if order is None:
        error = no_order(code)
    else:
        try:
            service.check_packable(order, request.user)
        except service.ScanRefused as exc:
            error = exc.message
    if error is None:
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = _station_url(order)
            return response
        return redirect(_station_url(order))
    if request.htmx:
        response = render(request, "shipments/packing.html#open-result", {"error": error})
        return trigger(response, "scan-error", {"message": error})
    messages.error(request, error)
    return redirect("shipments:packing")


def station_context(order, lines=None, **extra):
    lines = service.pack_lines(order) if lines is None else lines
    return {
        "order": order,
        "lines": lines,
        "units_expected": sum(pl.expected for pl in lines),
        "units_scanned": sum(pl.scanned for pl in lines),
        "complete": order.packing_verified_at is not None,
        "documents_query": f"?orders={order.pk}",
        **extra,
    }


def _order(request, pk) -> Order:
    return get_for_tenant_or_404(Order.objects.select_related("status", "customer"), request.tenant, pk=pk)


@vary_on_headers("HX-Request")
@role_required(*WAREHOUSE_STAFF)
def packing_station(request, pk):
    order = _order(request, pk)
    refused = None
    if order.packing_verified_at is None:
        try:
            service.check_packable(order, request.user)
        except service.ScanRefused as exc:
            refused = exc.message
    template = "shipments/station.html#station" if request.htmx else "shipments/station.html"
    return render(request, template, station_context(order, refused=refused))


def _answer(request, order, *, ok: bool, message: str, event: str, complete=False, lines=None):
    if not request.htmx:
        (messages.success if ok else messages.error)(request, message)
        return redirect(_station_url(order))
    context = station_context(order, lines=lines, message=message, ok=ok, just_completed=complete)
    response = render(request, "shipments/station.html#station", context)
    return trigger(response, event, {"message": message})


@require_POST
@role_required(*WAREHOUSE_STAFF)
def packing_scan(request, pk):
    """One scanned code. A scan that counts a unit reads the order once, locked (the service); only a refused one
    reads it again, to answer with the station or, for a finished order, to open the order whose number it is."""
    code = request.POST.get("code", "")
    try:
        ok, result = run_service(
            request,
            lambda actor: service.scan_at_station(tenant=request.tenant, order_id=pk, code=code, actor=actor),
            notify=False,
        )
    except Order.DoesNotExist as exc:
        raise Http404("No order found.") from exc
    if not ok:
        order = _order(request, pk)
        if order.packing_verified_at is not None:
            # A finished order: the next scan is the next order's number.
            next_order = selectors.order_by_number(tenant=request.tenant, number=code)
            if next_order is not None and next_order.pk != order.pk:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = _station_url(next_order)
                return response if request.htmx else redirect(_station_url(next_order))
        return _answer(request, order, ok=False, message=result.message, event="scan-error")
    if result.complete:
        return _answer(
            request,
            result.order,
            ok=True,
            message=result.message,
            event="packing-complete",
            complete=True,
            lines=result.lines,
        )
    return _answer(request, result.order, ok=True, message=result.message, event="scan-ok", lines=result.lines)


@require_POST
@role_required(*WAREHOUSE_STAFF)
def packing_undo(request, pk):
    order = _order(request, pk)
    ok, result = run_service(request, lambda actor: service.undo_last_scan(order=order, actor=actor), notify=False)
    message = gettext("Took back one %(sku)s.") % {"sku": result.product.sku} if ok else result.message
    return _answer(request, order, ok=ok, message=message, event="scan-ok" if ok else "scan-error")

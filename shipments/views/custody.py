"""Handover and returns by scan, and the custody chain of one order."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import MANAGER, OWNER, PACKER, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404
from orders.models import Order
from orders.services.statuses import parcel_is_out

from .. import selectors
from ..errors import AlreadyHandedOver
from ..services import custody
from ..services import returns as returns_service
from ..services.common import user_label
from .common import WAREHOUSE_STAFF, no_order, trigger
from .customer_returns import scanned_return


def _holder_choice(request, value: str):
    """'courier:<user id>' or 'carrier:<id>' → (courier, carrier), only of this tenant; (None, None) otherwise."""
    kind, _, raw_id = (value or "").partition(":")
    if not raw_id.isdecimal():
        return None, None
    if kind == "courier":
        return selectors.courier_of_tenant(tenant=request.tenant, user_id=int(raw_id)), None
    if kind == "carrier":
        return None, selectors.carriers(tenant=request.tenant).filter(pk=int(raw_id)).first()
    return None, None


def _scan_answer(request, template, context, ok, message):
    context.update({"ok": ok, "message": message})
    if request.htmx:
        response = render(request, template, context)
        return trigger(response, "scan-ok" if ok else "scan-error", {"message": message})
    (messages.success if ok else messages.error)(request, message)
    return None


@require_http_methods(["GET", "POST"])
@role_required(*WAREHOUSE_STAFF)
def handover(request):
    """Handover mode: pick a courier or carrier, then scan orders; each scan passes custody to them."""
    to = request.POST.get("to") or request.GET.get("to", "")
    courier, carrier = _holder_choice(request, to)
    context = {
        "courier_options": [(f"courier:{u.pk}", user_label(u)) for u in selectors.couriers(tenant=request.tenant)],
        "carrier_options": [(f"carrier:{c.pk}", c.name) for c in selectors.carriers(tenant=request.tenant)],
        "to": to if (courier or carrier) else "",
        "holder": courier or carrier,
        "holder_label": (user_label(courier) if courier else carrier.name) if (courier or carrier) else "",
        "waiting": list(selectors.packed_waiting(tenant=request.tenant)[:30]),
    }
    if request.method == "POST":
        code = request.POST.get("code", "")
        order = selectors.order_by_number(tenant=request.tenant, number=code)
        if not (courier or carrier):
            ok, message = False, gettext("Choose who receives the parcels first.")
        elif order is None:
            ok, message = False, no_order(code)
        else:
            ok, result = run_service(
                request,
                lambda actor: custody.hand_over(order=order, actor=actor, courier=courier, carrier=carrier),
                notify=False,  # the scan answer says it
            )
            message = (
                gettext("Order %(number)s handed to %(holder)s.")
                % {"number": order.number, "holder": context["holder_label"]}
                if ok
                else result.message
            )
            if isinstance(result, AlreadyHandedOver):  # a repeated scan: nothing to do, nothing wrong
                ok, context["repeat"] = True, True
            elif ok and result.shipment is not None:
                message += f" Tracking {result.shipment.tracking_number}."
        context["log"] = list(selectors.recent_handovers(tenant=request.tenant, user=request.user))
        context["waiting"] = list(selectors.packed_waiting(tenant=request.tenant)[:30])
        answer = _scan_answer(request, "shipments/handover.html#scan-area", context, ok, message)
        if answer is not None:
            return answer
        return redirect(f"{request.path}?to={to}")
    context["log"] = list(selectors.recent_handovers(tenant=request.tenant, user=request.user))
    return render(request, "shipments/handover.html", context)


RETURN_MODES = {
    "failed": (gettext_lazy("Failed delivery back from a courier"), custody.return_to_warehouse),
    "parcel": (gettext_lazy("Returned parcel: restock and mark returned"), returns_service.receive_return),
    "customer": (gettext_lazy("Customer return: some lines of a delivered order"), None),
}


@require_http_methods(["GET", "POST"])
@role_required(*WAREHOUSE_STAFF)
def returns(request):
    """Scan parcels back in: a failed delivery ends the courier's custody; a returned parcel is restocked."""
    mode = request.POST.get("mode") or request.GET.get("mode") or "failed"
    if mode not in RETURN_MODES:
        mode = "failed"
    context = {"mode": mode, "modes": [(key, label) for key, (label, _) in RETURN_MODES.items()]}
    if request.method == "POST":
        code = request.POST.get("code", "")
        order = selectors.order_by_number(tenant=request.tenant, number=code)
        if order is None:
            ok, message = False, no_order(code)
        elif mode == "customer":
            ok, message, opened = scanned_return(request, order)
            if opened is not None:
                return opened
        else:
            action = RETURN_MODES[mode][1]
            ok, result = run_service(request, lambda actor: action(order=order, actor=actor), notify=False)
            done = (
                gettext("Order %(number)s is back in the warehouse.")
                if mode == "failed"
                else gettext("Order %(number)s is restocked and marked returned.")
            )
            message = done % {"number": order.number} if ok else result.message
        context["log"] = list(selectors.recent_handovers(tenant=request.tenant, user=request.user))
        answer = _scan_answer(request, "shipments/returns.html#scan-area", context, ok, message)
        if answer is not None:
            return answer
        return redirect(f"{request.path}?mode={mode}")
    context["log"] = list(selectors.recent_handovers(tenant=request.tenant, user=request.user))
    return render(request, "shipments/returns.html", context)


@vary_on_headers("HX-Request")
@role_required(OWNER, MANAGER, PACKER)
def order_custody(request, pk):
    """The order's custody chain, courier stops and carrier tracking; for htmx (the order page's panel) the
    compact fragment."""
    order = get_for_tenant_or_404(Order.objects.select_related("status", "customer"), request.tenant, pk=pk)
    return render(
        request,
        "shipments/custody.html#panel" if request.htmx else "shipments/custody.html",
        {
            "order": order,
            "chain": list(selectors.custody_chain(order=order)),
            "holder": custody.current_holder(order),
            "stops": list(selectors.stops_of_order(order=order)),
            "shipment": selectors.shipment_of(order=order),
            "parcel_out": parcel_is_out(order),
        },
    )


@require_POST
@role_required(OWNER, MANAGER)
def write_off_lost(request, pk):
    """A parcel that will not come back: its units leave stock (written off) instead of waiting for a return."""
    order = get_for_tenant_or_404(Order, request.tenant, pk=pk)
    reason = request.POST.get("reason", "")
    run_service(
        request,
        lambda actor: returns_service.write_off_lost_parcel(order=order, actor=actor, reason=reason),
        success=gettext("The parcel of order %(number)s is written off as lost; its units left stock.")
        % {"number": order.number},
    )
    return redirect("shipments:order_custody", pk=order.pk)


__all__ = ["handover", "order_custody", "returns", "write_off_lost"]

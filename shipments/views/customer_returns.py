"""Line-level returns: a manager announces what the customer sends back; the warehouse receives it by scan."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from oms.pages import run_service
from oms.tenancy.roles import MANAGER, OWNER, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404
from orders.models import Order

from ..models import CustomerReturn, ReturnState
from ..services import returns as returns_service
from .common import WAREHOUSE_STAFF


def _quantity(raw: str) -> int:
    raw = (raw or "").strip()
    return int(raw) if raw.isdecimal() and len(raw) <= 6 else (0 if not raw else -1)


@require_http_methods(["GET", "POST"])
@role_required(OWNER, MANAGER)
def announce_return(request, pk):
    order = get_for_tenant_or_404(Order.objects.select_related("status"), request.tenant, pk=pk)
    left = returns_service.returnable(order)
    lines = [{"line": line, "left": left.get(line.pk, 0)} for line in order.lines.with_products().order_by("pk")]
    form = {"reason": "", "refund_method": "", "exchange": False, "quantities": {}}
    if request.method == "POST":
        quantities = {item["line"].pk: _quantity(request.POST.get(f"line-{item['line'].pk}", "")) for item in lines}
        form = {
            "reason": request.POST.get("reason", "")[:200],
            "refund_method": request.POST.get("refund_method", "")[:60] if request.POST.get("refund") else "",
            "exchange": request.POST.get("exchange") == "on",
            "quantities": quantities,
        }
        ok, result = run_service(
            request,
            lambda actor: returns_service.announce_return(
                order=order,
                quantities=quantities,
                reason=form["reason"],
                actor=actor,
                refund_method=form["refund_method"],
                exchange=form["exchange"],
            ),
            success=lambda r: (
                gettext("Return of order %(number)s announced; exchange order %(exchange)s created.")
                % {"number": order.number, "exchange": r.exchange.number}
                if r.exchange
                else gettext("Return of order %(number)s announced.") % {"number": order.number}
            ),
        )
        if ok:
            return redirect("orders:detail", pk=order.pk)
    for item in lines:
        item["asked"] = form["quantities"].get(item["line"].pk) or ""
    context = {
        "order": order,
        "lines": lines,
        "form": form,
        "returns": CustomerReturn.objects.filter(tenant=request.tenant, order=order).prefetch_related(
            "lines__order_line__product"
        ),
        "delivered": order.delivered_at is not None,
    }
    return render(request, "shipments/announce_return.html", context)


@require_http_methods(["GET", "POST"])
@role_required(*WAREHOUSE_STAFF)
def customer_return(request, pk):
    """Receive an announced return: every line back on the shelf unless written off here with a reason."""
    the_return = get_for_tenant_or_404(
        CustomerReturn.objects.select_related("order", "exchange"), request.tenant, pk=pk
    )
    lines = list(the_return.lines.select_related("order_line__product").order_by("pk"))
    if request.method == "POST" and the_return.state == ReturnState.EXPECTED:
        write_offs = {
            line.order_line_id: request.POST.get(f"reason-{line.order_line_id}", "")
            for line in lines
            if request.POST.get(f"write-off-{line.order_line_id}") is not None
        }
        ok, _ = run_service(
            request,
            lambda actor: returns_service.receive_customer_return(
                customer_return=the_return, actor=actor, write_offs=write_offs
            ),
            success=gettext("Return of order %(number)s received.") % {"number": the_return.order.number},
        )
        if ok:
            return redirect(f"{reverse('shipments:returns')}?mode=customer")
    return render(request, "shipments/customer_return.html", {"the_return": the_return, "lines": lines})


def scanned_return(request, order) -> tuple[bool, str, HttpResponse | None]:
    """The Returns screen's "customer return" mode: a scanned order with an announced return opens it."""
    expected = returns_service.expected_return_of(order)
    if expected is None:
        message = gettext("Order %(number)s has no announced return: ask the office to announce it first.")
        return False, message % {"number": order.number}, None
    url = reverse("shipments:customer_return", args=[expected.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return True, "", response
    return True, "", redirect(url)


__all__ = ["announce_return", "customer_return"]

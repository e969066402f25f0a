"""Purchasing screens: the list of purchase orders, a new one, and receiving it by scan at the warehouse."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.pdf import html_to_pdf
from oms.tenancy.roles import ADMIN, MANAGER, OWNER, PACKER, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from . import purchasing
from .forms import PurchaseOrderForm, ScanForm
from .models import PurchaseOrder, PurchaseState

BUYERS = (OWNER, MANAGER, ADMIN)  # order from suppliers, cancel
RECEIVERS = (OWNER, MANAGER, ADMIN, PACKER)  # see purchase orders and receive them
PER_PAGE = 50


@role_required(*RECEIVERS)
def purchase_list(request):
    state = request.GET.get("state", "")
    orders = PurchaseOrder.objects.filter(tenant=request.tenant).select_related("supplier", "warehouse")
    if state in PurchaseState.values:
        orders = orders.filter(state=state)
    page = Paginator(orders.order_by("-created_at", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/purchases.html",
        {
            "page": page,
            "state": state,
            "state_query": state_query(state),
            "states": PurchaseState.choices,
            "can_buy": request.role in BUYERS,
        },
    )


@role_required(*BUYERS)
def purchase_new(request):
    # A draft from the "to reorder" screen arrives with its warehouse and lines filled in.
    initial = {key: request.GET.get(key, "")[:20_000] for key in ("warehouse", "lines") if request.GET.get(key)}
    form = PurchaseOrderForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, order = run_service(
            request,
            lambda actor: purchasing.create_purchase_order(
                tenant=request.tenant,
                supplier=data["supplier"],
                warehouse_code=data["warehouse"],
                expected_at=data["expected_at"],
                lines=[purchasing.PurchaseLine(sku, qty, cost) for sku, qty, cost in data["lines"]],
                actor=actor.user,
            ),
            success=lambda created: gettext("%(number)s created.") % {"number": created.number},
            form=form,
        )
        if ok:
            return redirect("inventory:purchase", pk=order.pk)
    return render(request, "inventory/purchase_new.html", {"form": form})


def _purchase_page(request, order, *, status=200):
    """The purchase order with its lines for htmx (after a scan or a receipt); a plain POST redirects to it."""
    if request.method == "POST" and not request.htmx:
        return redirect("inventory:purchase", pk=order.pk)
    order = PurchaseOrder.objects.select_related("supplier", "warehouse").get(pk=order.pk)
    lines = list(order.lines.with_products().order_by("pk"))
    context = {"po": order, "lines": lines, "scan_form": ScanForm(), "can_buy": request.role in BUYERS}
    template = "inventory/purchase.html#receiving" if request.htmx else "inventory/purchase.html"
    return render(request, template, context, status=status)


@vary_on_headers("HX-Request")
@role_required(*RECEIVERS)
def purchase_detail(request, pk):
    return _purchase_page(request, get_for_tenant_or_404(PurchaseOrder, request.tenant, pk=pk))


@require_POST
@role_required(*RECEIVERS)
def purchase_scan(request, pk):
    """One scanned unit received; the screen answers with the lines as they now are, ready for the next scan."""
    order = get_for_tenant_or_404(PurchaseOrder, request.tenant, pk=pk)
    scan_one(request, lambda code, user: purchasing.receive_scanned_unit(order=order, code=code, actor=user))
    return _purchase_page(request, order)


@require_POST
@role_required(*RECEIVERS)
def purchase_receive(request, pk):
    """Receive by form: a quantity per line (what a delivery note says)."""
    order = get_for_tenant_or_404(PurchaseOrder, request.tenant, pk=pk)
    receive_by_form(
        request,
        order.lines.with_products(),
        lambda lines, user: purchasing.receive_purchase_order(order=order, lines=lines, actor=user),
    )
    return _purchase_page(request, order)


def scan_one(request, receive_unit) -> None:
    """A scanned code received as one unit (`receive_unit(code, user)` returns (document, product))."""
    form = ScanForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda actor: receive_unit(form.cleaned_data["code"], actor.user),
            success=lambda result: gettext("%(sku)s: one received.") % {"sku": result[1].sku},
        )


def receive_by_form(request, lines, receive) -> None:
    """The receive form's quantities (`qty-<line id>`) booked by `receive(lines, user)`."""
    received = received_quantities(request, lines)
    if received is None:
        messages.error(request, gettext("Quantities must be whole numbers from 0 to 1,000,000."))
    else:
        run_service(request, lambda actor: receive(received, actor.user), success=gettext("Received."))


def state_query(state: str) -> str:
    """The list's state filter as the start of a query string, for its pager."""
    return f"{urlencode({'state': state})}&" if state else ""


def received_quantities(request, lines) -> list[tuple[str, int]] | None:
    """The receive form's quantity per line (`qty-<line id>`), as (SKU, quantity); None when one is not a number."""
    received = []
    for line in lines:
        raw = request.POST.get(f"qty-{line.pk}", "").strip()
        if raw.isdecimal() and len(raw) <= 7 and 0 < int(raw) <= 1_000_000:  # int() refuses 4,300+ digits
            received.append((line.product.sku, int(raw)))
        elif raw not in ("", "0"):
            return None
    return received


@require_POST
@role_required(*BUYERS)
def purchase_cancel(request, pk):
    order = get_for_tenant_or_404(PurchaseOrder, request.tenant, pk=pk)
    run_service(
        request,
        lambda actor: purchasing.cancel_purchase_order(order=order),
        success=gettext("Purchase order cancelled."),
    )
    return redirect("inventory:purchase", pk=order.pk)


@require_POST
@role_required(*BUYERS)
def purchase_expected(request, pk):
    """The supplier named a new date."""
    order = get_for_tenant_or_404(PurchaseOrder, request.tenant, pk=pk)
    field = forms.DateField(required=False)
    try:
        expected_at = field.clean(request.POST.get("expected_at", ""))
    except forms.ValidationError:
        messages.error(request, gettext("Enter a date such as 2026-12-31."))
    else:
        run_service(
            request,
            lambda actor: purchasing.change_expected_date(order=order, expected_at=expected_at),
            success=gettext("Expected date saved; waiting orders are told."),
        )
    return redirect("inventory:purchase", pk=order.pk)


@role_required(*RECEIVERS)
def purchase_pdf(request, pk):
    """The purchase order as a PDF to send to the supplier."""
    order = get_for_tenant_or_404(PurchaseOrder.objects.select_related("supplier", "warehouse"), request.tenant, pk=pk)
    lines = list(order.lines.with_products().order_by("pk"))
    costed = [line.amount for line in lines if line.amount is not None]
    html = render_to_string(
        "inventory/pdf/purchase_order.html",
        {
            "tenant": request.tenant,
            "pages": [order],
            "lines": lines,
            "total": sum(costed) if len(costed) == len(lines) else None,  # a total only when every line has a cost
            "title": order.number,
        },
    )
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response

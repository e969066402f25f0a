"""Transfers between warehouses: the list, a new one, and receiving it by scan or form at the destination."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from . import transfers
from .forms import ScanForm, TransferForm
from .models import Transfer, TransferState
from .purchase_views import BUYERS, PER_PAGE, RECEIVERS, received_quantities


@role_required(*RECEIVERS)
def transfer_list(request):
    state = request.GET.get("state", "")
    rows = Transfer.objects.filter(tenant=request.tenant).select_related("from_warehouse", "to_warehouse")
    if state in TransferState.values:
        rows = rows.filter(state=state)
    page = Paginator(rows.order_by("-created_at", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "state": state, "states": TransferState.choices, "can_send": request.role in BUYERS}
    return render(request, "inventory/transfers.html", context)


@role_required(*BUYERS)
def transfer_new(request):
    form = TransferForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, transfer = run_service(
            request,
            lambda actor: transfers.create_transfer(
                tenant=request.tenant,
                from_code=data["from_warehouse"],
                to_code=data["to_warehouse"],
                lines=data["lines"],
                note=data["note"],
                actor=actor.user,
            ),
            success=lambda created: f"{created.number} is on its way.",
            form=form,
            field="lines",
        )
        if ok:
            return redirect("inventory:transfer", pk=transfer.pk)
    return render(request, "inventory/transfer_new.html", {"form": form})


def _transfer_page(request, transfer):
    """The transfer with its lines for htmx (after a scan or a receipt); a plain POST redirects to it."""
    if request.method == "POST" and not request.htmx:
        return redirect("inventory:transfer", pk=transfer.pk)
    transfer = Transfer.objects.select_related("from_warehouse", "to_warehouse").get(pk=transfer.pk)
    context = {
        "transfer": transfer,
        "lines": list(transfer.lines.select_related("product").order_by("pk")),
        "scan_form": ScanForm(),
        "open": transfer.state == TransferState.IN_TRANSIT,
    }
    template = "inventory/transfer.html#receiving" if request.htmx else "inventory/transfer.html"
    return render(request, template, context)


@vary_on_headers("HX-Request")
@role_required(*RECEIVERS)
def transfer_detail(request, pk):
    return _transfer_page(request, get_for_tenant_or_404(Transfer, request.tenant, pk=pk))


@require_POST
@role_required(*RECEIVERS)
def transfer_scan(request, pk):
    """One scanned unit received at the destination; the screen answers with the lines as they now are."""
    transfer = get_for_tenant_or_404(Transfer, request.tenant, pk=pk)
    form = ScanForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda actor: transfers.receive_scanned_unit(
                transfer=transfer, code=form.cleaned_data["code"], actor=actor.user
            ),
            success=lambda result: f"{result[1].sku}: one received.",
        )
    return _transfer_page(request, transfer)


@require_POST
@role_required(*RECEIVERS)
def transfer_receive(request, pk):
    """Receive by form: a quantity per line."""
    transfer = get_for_tenant_or_404(Transfer, request.tenant, pk=pk)
    lines = received_quantities(request, transfer.lines.select_related("product"))
    if lines is None:
        messages.error(request, "Quantities must be whole numbers.")
    else:
        run_service(
            request,
            lambda actor: transfers.receive_transfer(transfer=transfer, lines=lines, actor=actor.user),
            success="Received.",
        )
    return _transfer_page(request, transfer)

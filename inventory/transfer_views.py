"""Transfers between warehouses: the list, a new one, and receiving it by scan or form at the destination."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from . import transfers
from .forms import ScanForm, TransferForm
from .models import Transfer, TransferState
from .purchase_views import BUYERS, PER_PAGE, RECEIVERS, receive_by_form, scan_one, state_query


@role_required(*RECEIVERS)
def transfer_list(request):
    state = request.GET.get("state", "")
    rows = Transfer.objects.filter(tenant=request.tenant).select_related("from_warehouse", "to_warehouse")
    if state in TransferState.values:
        rows = rows.filter(state=state)
    page = Paginator(rows.order_by("-created_at", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "state": state,
        "state_query": state_query(state),
        "states": TransferState.choices,
        "can_send": request.role in BUYERS,
    }
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
                expected_at=data["expected_at"],
                actor=actor.user,
            ),
            success=lambda created: gettext("%(number)s is on its way.") % {"number": created.number},
            form=form,
            field="lines",
        )
        if ok:
            return redirect("inventory:transfer", pk=transfer.pk)
    return render(request, "inventory/transfer_new.html", {"form": form})


def _transfer_page(request, transfer, *, ending_refused=False):
    """The transfer with its lines for htmx (after a scan or a receipt); a plain POST redirects to it."""
    if request.method == "POST" and not request.htmx:
        return redirect("inventory:transfer", pk=transfer.pk)
    transfer = Transfer.objects.select_related("from_warehouse", "to_warehouse").get(pk=transfer.pk)
    context = {
        "transfer": transfer,
        "lines": list(transfer.lines.with_products().order_by("pk")),
        "scan_form": ScanForm(),
        "open": transfer.state == TransferState.IN_TRANSIT,
        "can_close": request.role in BUYERS,
        "ending_refused": ending_refused,  # keep the form to end it open, with its message
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
    scan_one(request, lambda code, user: transfers.receive_scanned_unit(transfer=transfer, code=code, actor=user))
    return _transfer_page(request, transfer)


@require_POST
@role_required(*RECEIVERS)
def transfer_receive(request, pk):
    """Receive by form: a quantity per line."""
    transfer = get_for_tenant_or_404(Transfer, request.tenant, pk=pk)
    receive_by_form(
        request,
        transfer.lines.with_products(),
        lambda lines, user: transfers.receive_transfer(transfer=transfer, lines=lines, actor=user),
    )
    return _transfer_page(request, transfer)


@require_POST
@role_required(*BUYERS)
def transfer_close(request, pk):
    """End an open transfer before all of it arrived: `cancel` sends the rest back to the source, `lost` writes it
    off as lost on the way."""
    transfer = get_for_tenant_or_404(Transfer, request.tenant, pk=pk)
    reason, how = request.POST.get("reason", ""), request.POST.get("how")
    if how == "cancel":
        ok, _ = run_service(
            request,
            lambda actor: transfers.cancel_transfer(
                transfer=transfer, reason=reason, actor=actor.user, actor_label=actor.name
            ),
            success=lambda closed: (
                gettext("%(number)s cancelled; what had not arrived is back at %(code)s.")
                % {"number": closed.number, "code": closed.from_warehouse.code}
            ),
        )
    elif how == "lost":
        ok, _ = run_service(
            request,
            lambda actor: transfers.close_short(transfer=transfer, reason=reason, actor_label=actor.name),
            success=lambda closed: (
                gettext("%(number)s closed; what had not arrived is written off as lost.") % {"number": closed.number}
            ),
        )
    else:
        ok = False
        messages.error(request, gettext("Choose whether the rest went back or was lost."))
    return _transfer_page(request, transfer, ending_refused=not ok)

"""Admin screens: the status catalogue and the transition matrix grid."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from oms.models import Role
from oms.pages import run_service
from oms.tenancy.roles import SETTINGS, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from ..forms import StatusForm
from ..models import Group, Order, OrderStatus, StatusPurpose, StatusTransition
from ..services import settings as settings_services


@role_required(*SETTINGS)
def status_list(request):
    statuses = OrderStatus.objects.filter(tenant=request.tenant).order_by("position", "pk")
    form = StatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: settings_services.save_status(tenant=request.tenant, **form.cleaned_data),
            success=gettext("Status added."),
            form=form,
            field="code",
        )
        if ok:
            return redirect("orders:statuses")
    groups = [(value, label, [s for s in statuses if s.group == value]) for value, label in Group.choices]
    return render(request, "orders/statuses.html", {"groups": groups, "form": form, "purposes": StatusPurpose.choices})


@require_POST
@role_required(*SETTINGS)
def status_edit(request, pk):
    status = get_for_tenant_or_404(OrderStatus, request.tenant, pk=pk)
    form = StatusForm({**request.POST.dict(), "code": status.code})
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "code"}
        if "purpose" not in request.POST:
            data.pop("purpose")  # a form without the picker leaves the purpose alone
        run_service(
            request,
            lambda actor: settings_services.save_status(tenant=request.tenant, code=status.code, status=status, **data),
            success=lambda saved: gettext("Status “%(name)s” saved.") % {"name": saved.name},
            field="purpose",
        )
    else:
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else gettext('Status')}: {' '.join(errors)}"
            for name, errors in form.errors.items()
        )
        messages.error(
            request, gettext("“%(name)s” not saved. %(problems)s") % {"name": status.name, "problems": problems}
        )
    return redirect("orders:statuses")


def _matrix_context(request, channel: str, role: str):
    statuses = list(OrderStatus.objects.filter(tenant=request.tenant).order_by("position", "pk"))
    rows = StatusTransition.objects.filter(tenant=request.tenant, channel=channel)
    has_own = bool(channel) and rows.exists()
    if channel and not has_own:
        rows = StatusTransition.objects.filter(tenant=request.tenant, channel="")
    by_pair = {(r.from_status_id, r.to_status_id): r for r in rows}
    grid = [
        (
            src,
            [(dst, settings_services.transition_allowed_for(by_pair.get((src.pk, dst.pk)), role)) for dst in statuses],
        )
        for src in statuses
    ]
    channels = sorted(
        set(Order.objects.filter(tenant=request.tenant).values_list("channel", flat=True).distinct()[:50])
        | set(
            StatusTransition.objects.filter(tenant=request.tenant).exclude(channel="").values_list("channel", flat=True)
        )
        | {"web", "marketplace", "phone"}
    )
    return {
        "statuses": statuses,
        "grid": grid,
        "channel": channel,
        "role": role,
        "has_own": has_own,
        "channels": channels,
        "roles": Role.choices,
    }


@role_required(*SETTINGS)
def matrix(request):
    channel = request.GET.get("channel", "").strip()[:40]
    role = request.GET.get("role", "") if request.GET.get("role", "") in Role.values else ""
    template = "orders/matrix.html#grid" if request.htmx else "orders/matrix.html"
    return render(request, template, _matrix_context(request, channel, role))


@require_POST
@role_required(*SETTINGS)
def matrix_toggle(request):
    """One checkbox of the grid, saved as it is clicked."""
    source = get_for_tenant_or_404(OrderStatus, request.tenant, pk=request.POST.get("from", ""))
    target = get_for_tenant_or_404(OrderStatus, request.tenant, pk=request.POST.get("to", ""))
    channel = request.POST.get("channel", "").strip()[:40]
    role = request.POST.get("role", "")
    ok, allowed = run_service(
        request,
        lambda actor: settings_services.set_transition(
            tenant=request.tenant,
            from_status=source,
            to_status=target,
            allowed=request.POST.get("allowed") == "on",
            channel=channel,
            role=role,
        ),
    )
    allowed = allowed if ok else False
    if not request.htmx:
        return redirect(f"{reverse('orders:matrix')}?{urlencode({'channel': channel, 'role': role})}")
    return render(
        request,
        "orders/matrix.html#cell",
        {"src": source, "dst": target, "allowed": allowed, "channel": channel, "role": role},
    )

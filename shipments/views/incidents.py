"""Incidents for managers: routes that missed their departure deadline or were left open."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from oms.pages import run_service
from oms.tenancy.roles import OFFICE, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from .. import selectors
from ..models import Incident
from ..services import routes


@role_required(*OFFICE)
def incident_list(request):
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "shipments/incidents.html",
        {
            "incidents": list(selectors.incidents(tenant=request.tenant, open_only=not show_all)[:200]),
            "show_all": show_all,
            "holdings": selectors.holdings(tenant=request.tenant),
        },
    )


@require_POST
@role_required(*OFFICE)
def incident_resolve(request, pk):
    incident = get_for_tenant_or_404(Incident, request.tenant, pk=pk)
    run_service(
        request, lambda actor: routes.resolve_incident(incident=incident, actor=actor), gettext("Incident resolved.")
    )
    return redirect("shipments:incidents")

"""Admin screen: carriers of the shop and the shipments settings."""

import json

from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from oms.pages import run_service
from oms.tenancy.roles import SETTINGS, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from ..forms import CarrierForm, ShipmentSettingsForm
from ..models import Carrier
from ..services import config
from ..services.common import settings_for


def _settings_form(tenant, data=None, files=None):
    current = settings_for(tenant)
    initial = {
        "departure_deadline": current.departure_deadline,
        "end_of_day": current.end_of_day,
        "tracking_status_map": json.dumps(current.tracking_status_map, indent=1),
    }
    return ShipmentSettingsForm(data, files, initial=initial), current


def _carrier_initial(carrier: Carrier | None) -> dict:
    if carrier is None:
        return {"kind": "http", "poll_interval_seconds": 900, "is_active": True}
    return {
        "kind": carrier.kind,
        "name": carrier.name,
        "base_url": carrier.base_url,
        "status_mapping": json.dumps(carrier.status_mapping, ensure_ascii=False) if carrier.status_mapping else "",
        "poll_interval_seconds": carrier.poll_interval_seconds,
        "is_active": carrier.is_active,
    }


@require_http_methods(["GET", "POST"])
@role_required(*SETTINGS)
def shipment_settings(request):
    editing = None
    if request.GET.get("edit", "").isdecimal():  # a carrier's values in the form; its token is never shown again
        editing = get_for_tenant_or_404(Carrier, request.tenant, pk=request.GET["edit"])
    carrier_form = CarrierForm(initial=_carrier_initial(editing))
    settings_form, current = _settings_form(request.tenant)
    if request.method == "POST" and request.POST.get("form") == "settings":
        settings_form, current = _settings_form(request.tenant, request.POST, request.FILES)
        if settings_form.is_valid():
            ok, _ = run_service(
                request,
                lambda actor: config.update_settings(tenant=request.tenant, **settings_form.cleaned_data),
                success=gettext("Shipment settings saved."),
                form=settings_form,
                field="tracking_status_map",
            )
            if ok:
                return redirect("shipments:settings")
    elif request.method == "POST":
        if request.POST.get("carrier"):
            editing = get_for_tenant_or_404(Carrier, request.tenant, pk=request.POST["carrier"])
        carrier = editing
        carrier_form = CarrierForm(request.POST)
        if carrier_form.is_valid():
            data = dict(carrier_form.cleaned_data)
            ok, _ = run_service(
                request,
                lambda actor: config.save_carrier(tenant=request.tenant, carrier=carrier, **data),
                success=gettext("Carrier saved."),
                form=carrier_form,
                field="name",
            )
            if ok:
                return redirect("shipments:settings")
    carriers = Carrier.objects.filter(tenant=request.tenant).order_by("name")
    return render(
        request,
        "shipments/settings.html",
        {
            "carriers": carriers,
            "carrier_form": carrier_form,
            "editing": editing,
            "settings_form": settings_form,
            "current": current,
        },
    )

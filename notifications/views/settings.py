"""Admin screens: time limits, message templates, delivery windows, webhook endpoints and their deliveries."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from oms import event_catalogue
from oms.pages import NON_FIELD_ERRORS, run_service
from oms.tenancy.roles import SETTINGS, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404
from orders.models import OrderStatus

from .. import selectors, templating, webhook_docs
from ..models import (
    Channel,
    DeliveryWindow,
    Holiday,
    MessageTemplate,
    TimeLimit,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..services import messaging, sla, tracking, webhooks


@role_required(*SETTINGS)
def automation_home(request):
    return render(request, "notifications/settings_home.html")


class TimeLimitForm(forms.Form):
    status = forms.ModelChoiceField(label=gettext_lazy("Status"), queryset=OrderStatus.objects.none())
    amount = forms.IntegerField(min_value=1, max_value=100_000, label=gettext_lazy("Limit"))
    unit = forms.ChoiceField(
        label=gettext_lazy("Unit"), choices=[("hours", gettext_lazy("hours")), ("minutes", gettext_lazy("minutes"))]
    )
    working_hours_only = forms.BooleanField(required=False, label=gettext_lazy("Working hours only"))
    work_starts = forms.TimeField(
        initial="09:00", widget=forms.TimeInput(attrs={"type": "time"}), label=gettext_lazy("From")
    )
    work_ends = forms.TimeField(
        initial="18:00", widget=forms.TimeInput(attrs={"type": "time"}), label=gettext_lazy("To")
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].queryset = OrderStatus.objects.filter(tenant=tenant, is_active=True).order_by("position")


class HolidayForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("Day"))
    name = forms.CharField(max_length=100, required=False, label=gettext_lazy("Name"))


def _time_limits_page(request, form, holiday_form):
    limits = TimeLimit.objects.filter(tenant=request.tenant).select_related("status").order_by("status__position")
    holidays = Holiday.objects.filter(tenant=request.tenant, day__gte=timezone.localdate().replace(month=1, day=1))
    context = {"form": form, "limits": limits, "holiday_form": holiday_form, "holidays": holidays}
    return render(request, "notifications/time_limits.html", context)


@role_required(*SETTINGS)
def time_limits(request):
    form = TimeLimitForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        minutes = data["amount"] * (60 if data["unit"] == "hours" else 1)
        ok, _ = run_service(
            request,
            lambda actor: sla.save_time_limit(
                tenant=request.tenant,
                status=data["status"],
                minutes=minutes,
                working_hours_only=data["working_hours_only"],
                work_starts=data["work_starts"],
                work_ends=data["work_ends"],
            ),
            success=lambda limit: gettext("Time limit for “%(name)s” saved.") % {"name": data["status"].name},
            form=form,
            field=NON_FIELD_ERRORS,
        )
        if ok:
            return redirect("notifications:time_limits")
    return _time_limits_page(request, form, HolidayForm())


@require_POST
@role_required(*SETTINGS)
def holiday_add(request):
    form = HolidayForm(request.POST)
    if form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: sla.add_holiday(tenant=request.tenant, **form.cleaned_data),
            success=lambda holiday: (
                gettext("%(day)s is a holiday; working-hours deadlines moved past it.")
                % {"day": f"{holiday.day:%Y-%m-%d}"}
            ),
            form=form,
            field="day",
        )
        if ok:
            return redirect("notifications:time_limits")
    return _time_limits_page(request, TimeLimitForm(tenant=request.tenant), form)


@require_POST
@role_required(*SETTINGS)
def holiday_delete(request, pk):
    holiday = get_for_tenant_or_404(Holiday, request.tenant, pk=pk)
    sla.remove_holiday(holiday=holiday)
    messages.success(request, gettext("%(day)s is a working day again.") % {"day": f"{holiday.day:%Y-%m-%d}"})
    return redirect("notifications:time_limits")


@require_POST
@role_required(*SETTINGS)
def time_limit_delete(request, pk):
    limit = get_for_tenant_or_404(TimeLimit.objects.select_related("status"), request.tenant, pk=pk)
    sla.delete_time_limit(limit=limit)
    messages.success(request, gettext("Time limit for “%(name)s” removed.") % {"name": limit.status.name})
    return redirect("notifications:time_limits")


class TemplateForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=60)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Channel.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200, required=False)
    body = forms.CharField(label=gettext_lazy("Body"), widget=forms.Textarea(attrs={"rows": 6}))
    is_active = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Active"))


@role_required(*SETTINGS)
def message_templates(request, pk=None):
    template = get_for_tenant_or_404(MessageTemplate, request.tenant, pk=pk) if pk else None
    initial = (
        {k: getattr(template, k) for k in ("code", "channel", "name", "subject", "body", "is_active")}
        if template
        else {"is_active": True}
    )
    form = TemplateForm(request.POST or None, initial=initial)
    if template is not None:
        form.fields["code"].disabled = form.fields["channel"].disabled = True
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: messaging.save_template(tenant=request.tenant, template=template, **form.cleaned_data),
            success=lambda saved: gettext("Template “%(name)s” saved.") % {"name": saved.name},
            form=form,
            field="body",
        )
        if ok:
            return redirect("notifications:templates")
    rows = MessageTemplate.objects.filter(tenant=request.tenant)
    context = {"form": form, "rows": rows, "editing": template, "allowed_filters": templating.ALLOWED_FILTERS}
    return render(request, "notifications/templates.html", context)


@require_POST
@role_required(*SETTINGS)
def install_templates(request):
    messaging.install_default_templates(tenant=request.tenant)
    messages.success(request, gettext("Missing default templates added."))
    return redirect("notifications:templates")


class WindowForm(forms.Form):
    delivery_method = forms.CharField(label=gettext_lazy("Delivery method"), max_length=60)
    days_min = forms.IntegerField(min_value=0, max_value=365, label=gettext_lazy("Days from"))
    days_max = forms.IntegerField(min_value=0, max_value=365, label=gettext_lazy("Days to"))


@role_required(*SETTINGS)
def delivery_windows(request):
    form = WindowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: tracking.save_delivery_window(tenant=request.tenant, **form.cleaned_data),
            success=gettext("Delivery window saved."),
            form=form,
            field=NON_FIELD_ERRORS,
        )
        if ok:
            return redirect("notifications:windows")
    windows = DeliveryWindow.objects.filter(tenant=request.tenant)
    return render(request, "notifications/windows.html", {"form": form, "windows": windows})


@require_POST
@role_required(*SETTINGS)
def delivery_window_delete(request, pk):
    window = get_for_tenant_or_404(DeliveryWindow, request.tenant, pk=pk)
    tracking.delete_delivery_window(window=window)
    messages.success(request, gettext("Window for “%(method)s” removed.") % {"method": window.delivery_method})
    return redirect("notifications:windows")


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=500, label=gettext_lazy("URL"))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=event_catalogue.CHOICES, widget=forms.CheckboxSelectMultiple
    )


@role_required(*SETTINGS)
def webhook_list(request):
    form = EndpointForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        ok, created = run_service(
            request,
            lambda actor: webhooks.create_endpoint(tenant=request.tenant, **form.cleaned_data),
            success=lambda created: (
                gettext("Endpoint %(url)s added. Copy its secret now: it is shown only once.") % {"url": created[0].url}
            ),
            form=form,
            field="events",
        )
        if ok:
            new_secret = created[1]
            form = EndpointForm()
    context = {
        "form": form,
        "endpoints": selectors.endpoints(tenant=request.tenant),
        "new_secret": new_secret,
        "kind_docs": webhook_docs.kind_docs(),
    }
    return render(request, "notifications/webhooks.html", context)


@role_required(*SETTINGS)
def webhook_detail(request, pk):
    endpoint = get_for_tenant_or_404(WebhookEndpoint, request.tenant, pk=pk)
    page = Paginator(selectors.deliveries(tenant=request.tenant, endpoint=endpoint), 25)
    context = {
        "endpoint": endpoint,
        "page": page.get_page(request.GET.get("page")),
        "event_labels": dict(event_catalogue.CHOICES),
        "new_secret": None,
    }
    return render(request, "notifications/webhook_detail.html", context)


@require_POST
@role_required(*SETTINGS)
def webhook_action(request, pk):
    endpoint = get_for_tenant_or_404(WebhookEndpoint, request.tenant, pk=pk)
    action = request.POST.get("action")
    if action == "delete":
        webhooks.delete_endpoint(endpoint=endpoint)
        messages.success(request, gettext("Endpoint %(url)s deleted.") % {"url": endpoint.url})
        return redirect("notifications:webhooks")
    if action in ("enable", "disable"):
        webhooks.set_endpoint_active(endpoint=endpoint, active=action == "enable")
        messages.success(request, gettext("Endpoint enabled.") if endpoint.is_active else gettext("Endpoint disabled."))
    elif action == "rotate":
        secret = webhooks.rotate_secret(endpoint=endpoint)
        messages.success(request, gettext("New secret made; the old one stays valid for 24 hours. Copy it now."))
        page = Paginator(selectors.deliveries(tenant=request.tenant, endpoint=endpoint), 25)
        context = {
            "endpoint": endpoint,
            "page": page.get_page(1),
            "event_labels": dict(event_catalogue.CHOICES),
            "new_secret": secret,
        }
        return render(request, "notifications/webhook_detail.html", context)
    return redirect("notifications:webhook_detail", endpoint.pk)


@require_POST
@role_required(*SETTINGS)
def delivery_resend(request, pk):
    delivery = get_for_tenant_or_404(WebhookDelivery, request.tenant, pk=pk)
    webhooks.send_again(delivery=delivery)
    messages.success(request, gettext("Queued to send again, with the same id and body."))
    return redirect("notifications:webhook_detail", delivery.endpoint_id)

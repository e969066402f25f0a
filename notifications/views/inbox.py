"""Alerts inbox, the header badge, my tasks, and the automation panel for an order page."""

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.models import Membership, Role
from oms.pages import NON_FIELD_ERRORS, run_service
from oms.tenancy.roles import ADMIN, OFFICE, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404
from orders.models import Order

from .. import selectors
from ..models import Alert, Task
from ..services import inbox, tracking

ALERT_ROLES = (*OFFICE, ADMIN)


@vary_on_headers("HX-Request")
@role_required(*ALERT_ROLES)
def alerts(request):
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(selectors.alerts_for(tenant=request.tenant, user=request.user, unread_only=unread_only), 30)
    context = {
        "page": page.get_page(request.GET.get("page")),
        "unread_only": unread_only,
        "unread": selectors.unread_count(tenant=request.tenant, user=request.user),
    }
    template = "notifications/inbox.html#alerts" if request.htmx else "notifications/inbox.html"
    return render(request, template, context)


@require_POST
@role_required(*ALERT_ROLES)
def alert_read(request, pk):
    alert = get_for_tenant_or_404(Alert.objects.filter(user=request.user), request.tenant, pk=pk)
    inbox.mark_read(alert=alert)
    if request.POST.get("go") and alert.url.startswith("/"):
        return redirect(alert.url)
    if request.htmx:
        response = render(request, "notifications/inbox.html#alert", {"alert": alert})
        response["HX-Trigger"] = "alerts-changed"  # the header's counter refreshes itself now
        return response
    return redirect("notifications:inbox")


@require_POST
@role_required(*ALERT_ROLES)
def alerts_read_all(request):
    count = inbox.mark_all_read(tenant=request.tenant, user=request.user)
    messages.success(request, gettext("%(n)s alert(s) marked as read.") % {"n": count})
    return redirect("notifications:inbox")


@role_required(*ALERT_ROLES)
def badge(request):
    """The header's unread count, polled by htmx; empty for anyone who has no inbox.

    Polling, not server-sent events: a count that is 30 s late is fine for alerts, the answer is one indexed
    COUNT (`alert_unread`) in a few hundred bytes, and it needs no long-lived connection, which the sync gunicorn
    workers, the transaction-pooled database and proxies in front would each have to be tuned for."""
    return render(request, "notifications/_alert_badge.html")


class TaskForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    order_number = forms.CharField(max_length=40, required=False, label=gettext_lazy("Order number"))
    assignee = forms.ChoiceField(required=False, label=gettext_lazy("For"))
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("Due")
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(tenant=tenant, is_active=True, role__in=[Role.MANAGER, Role.OWNER])
        self.fields["assignee"].choices = [("", "Me")] + [
            (str(m.user_id), m.user.username) for m in members.select_related("user").order_by("user__username")
        ]


@vary_on_headers("HX-Request")
@role_required(*OFFICE)
def my_tasks(request):
    show = request.GET.get("show", "open")
    form = TaskForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid() and _add_task(request, form):
        messages.success(request, gettext("Task added."))
        return redirect("notifications:tasks")
    tasks = Paginator(selectors.tasks_for(tenant=request.tenant, user=request.user, role=request.role, show=show), 50)
    context = {"page": tasks.get_page(request.GET.get("page")), "show": show, "form": form, "now": timezone.now()}
    template = "notifications/tasks.html#tasks" if request.htmx else "notifications/tasks.html"
    return render(request, template, context)


def _add_task(request, form) -> bool:
    data = form.cleaned_data
    order = None
    if data["order_number"]:
        order = Order.objects.filter(tenant=request.tenant, number=data["order_number"].strip()).first()
        if order is None:
            form.add_error("order_number", "No order with this number.")
            return False
    assignee = request.user
    if data["assignee"]:
        assignee = (
            type(request.user)
            .objects.filter(pk=data["assignee"], memberships__tenant=request.tenant, memberships__is_active=True)
            .first()
        )
    due_at = timezone.make_aware(datetime.combine(data["due_date"], time(18, 0))) if data["due_date"] else None
    ok, _ = run_service(
        request,
        lambda actor: inbox.create_task(
            tenant=request.tenant, title=data["title"], actor=actor, assignee=assignee, order=order, due_at=due_at
        ),
        form=form,
        field=NON_FIELD_ERRORS,
    )
    return ok


@require_POST
@role_required(*OFFICE)
def task_toggle(request, pk):
    task = get_for_tenant_or_404(Task, request.tenant, pk=pk)
    inbox.set_task_done(task=task, done=request.POST.get("done") == "1", user=request.user)
    if request.htmx:
        return render(request, "notifications/tasks.html#task", {"task": task, "now": timezone.now()})
    back = request.POST.get("next", "")
    safe = back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return redirect(back if safe else "notifications:tasks")


@vary_on_headers("HX-Request")
@role_required(*OFFICE, ADMIN)
def order_panel(request, pk):
    """A fragment for the order page: tracking link, promised window, tasks and messages of the order."""
    order = get_for_tenant_or_404(Order.objects.select_related("customer"), request.tenant, pk=pk)
    context = {
        "order": order,
        "tracking_url": tracking.tracking_url(order),
        "tracking_path": tracking.tracking_path(order),
        "window": tracking.delivery_window(order),
        "tasks": selectors.tasks_of_order(tenant=request.tenant, order=order),
        "sent": selectors.messages_of_order(tenant=request.tenant, order=order)[:10],
        "now": timezone.now(),
    }
    template = "notifications/order_panel.html" if request.htmx else "notifications/order_panel_page.html"
    return render(request, template, context)

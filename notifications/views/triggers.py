"""Admin screens for triggers: list with ready-made templates, the htmx builder, dry run, execution log."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms import event_catalogue
from oms.event_catalogue import OrderStatusChanged, ShipmentStatusChanged
from oms.pages import run_service
from oms.tenancy.roles import SETTINGS, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404
from orders.models import Order, OrderStatus

from .. import selectors
from ..models import Trigger, WebhookEndpoint
from ..services import references, rules, triggers

MAX_ROWS = 20


@role_required(*SETTINGS)
def trigger_list(request):
    labels = dict(event_catalogue.CHOICES)
    listed = list(selectors.triggers(tenant=request.tenant))
    for trigger in listed:
        trigger.event_label = labels.get(trigger.event_kind, trigger.event_kind)
    context = {
        "triggers": listed,
        "templates": [(code, t[0], t[4]) for code, t in triggers.TEMPLATES.items()],
        "event_labels": dict(event_catalogue.CHOICES),
    }
    return render(request, "notifications/triggers.html", context)


@require_POST
@role_required(*SETTINGS)
def trigger_from_template(request, code):
    ok, trigger = run_service(
        request,
        lambda actor: triggers.create_from_template(tenant=request.tenant, code=code),
        success=lambda trigger: gettext("Trigger “%(name)s” created and switched on.") % {"name": trigger.name},
    )
    if not ok:
        return redirect("notifications:triggers")
    return redirect("notifications:trigger_edit", trigger.pk)


@require_POST
@role_required(*SETTINGS)
def trigger_toggle(request, pk):
    trigger = get_for_tenant_or_404(Trigger, request.tenant, pk=pk)
    triggers.set_trigger_active(trigger=trigger, active=request.POST.get("active") == "1")
    messages.success(
        request,
        (
            gettext("Trigger “%(name)s” switched on.")
            if trigger.is_active
            else gettext("Trigger “%(name)s” switched off.")
        )
        % {"name": trigger.name},
    )
    return redirect("notifications:triggers")


@require_POST
@role_required(*SETTINGS)
def trigger_delete(request, pk):
    trigger = get_for_tenant_or_404(Trigger, request.tenant, pk=pk)
    triggers.delete_trigger(trigger=trigger)
    messages.success(request, gettext("Trigger “%(name)s” deleted.") % {"name": trigger.name})
    return redirect("notifications:triggers")


def _rows(post, prefix: str, names: list[str]) -> list[dict]:
    columns = [post.getlist(f"{prefix}_{name}") for name in names]
    count = min(max((len(c) for c in columns), default=0), MAX_ROWS)
    return [
        {name: (columns[i][row] if row < len(columns[i]) else "").strip()[:200] for i, name in enumerate(names)}
        for row in range(count)
    ]


def _clean_actions(actions: list[dict]) -> list[dict]:
    return [{k: v for k, v in a.items() if v or k == "type"} for a in actions]


def _condition_row(cond: dict, values, event_kind: str) -> dict:
    """A condition row of the builder: a list of the shop's values where the field takes one of them."""
    field, op = cond.get("field"), cond.get("op")
    carrier_states = event_kind == ShipmentStatusChanged.kind  # the carrier's states: typed, not picked
    choices = [] if carrier_states and field in ("from_status", "to_status") else values.for_field(field)
    if op not in references.EXACT_OPERATORS:
        choices = []
    value = str(cond.get("value") or "")
    multi = op in references.LIST_OPERATORS
    unknown = bool(choices) and not multi and bool(value) and value not in dict(choices)
    return {"c": cond, "choices": choices, "multi": multi, "unknown": unknown}


NO_TARGET = {"reserve_stock", "split_unavailable"}


def _action_row(action: dict, values) -> dict:
    """An action row: the shop's statuses, templates, endpoints or people to pick from where the action names one."""
    kind = action.get("type")
    choices = values.for_action(kind)
    value = str(action.get("value") or "")
    empty_list = ""
    if kind in references.TEMPLATE_ACTIONS and not choices:
        empty_list = "No active template of this kind: add one under Message templates."
    elif kind == "webhook" and not choices:
        empty_list = "No active webhook endpoint: add one under Webhooks."
    return {
        "a": action,
        "choices": choices,
        "unknown": bool(choices) and bool(value) and value not in dict(choices),
        "needs_value": kind not in NO_TARGET and not empty_list,
        "hint": rules.ACTIONS.get(kind, ("", ""))[1],
        "has_text": kind in references.RECIPIENT_ACTIONS,
        "empty_list": empty_list,
    }


@vary_on_headers("HX-Request")
@role_required(*SETTINGS)
def trigger_edit(request, pk=None):
    trigger = get_for_tenant_or_404(Trigger, request.tenant, pk=pk) if pk else None
    problems = []
    if request.method == "POST":
        op = request.POST.get("op", "save")
        state = {
            "name": request.POST.get("name", "").strip()[:120],
            "event_kind": request.POST.get("event_kind", ""),
            "is_active": request.POST.get("is_active") == "on",
            "conditions": _rows(request.POST, "cond", ["field", "op", "value"]),
            "actions": _rows(request.POST, "act", ["type", "value", "text", "hours"]),
        }
        if op == "add_condition" and len(state["conditions"]) < MAX_ROWS:
            state["conditions"].append({"field": "to_status", "op": "eq", "value": ""})
        elif op == "add_action" and len(state["actions"]) < MAX_ROWS:
            state["actions"].append({"type": "create_task", "value": "", "text": "", "hours": ""})
        elif op.startswith("remove_condition:") or op.startswith("remove_action:"):
            what, _, index = op.partition(":")
            rows = state["conditions" if what == "remove_condition" else "actions"]
            if index.isdecimal() and len(index) <= 2 and int(index) < len(rows):  # at most MAX_ROWS rows
                rows.pop(int(index))
        elif op == "save":
            ok, saved = run_service(
                request,
                lambda actor: triggers.save_trigger(
                    tenant=request.tenant,
                    name=state["name"],
                    event_kind=state["event_kind"],
                    conditions=state["conditions"],
                    actions=_clean_actions(state["actions"]),
                    is_active=state["is_active"],
                    trigger=trigger,
                ),
                success=lambda saved: gettext("Trigger “%(name)s” saved.") % {"name": saved.name},
                notify=False,  # the builder lists the problems next to the rows
            )
            if not ok:
                problems = saved.details.get("problems") or [saved.message]
            else:
                trigger = saved
                url = reverse("notifications:trigger_edit", args=[trigger.pk])
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = url
                    return response
                return redirect(url)
    elif trigger is not None:
        state = {
            "name": trigger.name,
            "event_kind": trigger.event_kind,
            "is_active": trigger.is_active,
            "conditions": trigger.conditions,
            "actions": trigger.actions,
        }
    else:
        state = {
            "name": "",
            "event_kind": OrderStatusChanged.kind,
            "is_active": True,
            "conditions": [{"field": "to_status", "op": "eq", "value": ""}],
            "actions": [{"type": "create_task", "value": "manager", "text": "", "hours": "24"}],
        }
    values = references.shop_values(tenant=request.tenant)
    context = {
        "trigger": trigger,
        "state": state,
        "condition_rows": [_condition_row(c, values, state["event_kind"]) for c in state["conditions"]],
        "action_rows": [_action_row(a, values) for a in state["actions"]],
        "problems": problems,
        "event_kinds": event_catalogue.CHOICES,
        "fields": rules.FIELDS.items(),
        "operators": rules.OPERATORS.items(),
        "actions": [(k, v[0], v[1]) for k, v in rules.ACTIONS.items()],
        "statuses": OrderStatus.objects.filter(tenant=request.tenant, is_active=True).order_by("position"),
        "endpoints": WebhookEndpoint.objects.filter(tenant=request.tenant, is_active=True).order_by("pk"),
        "recent_runs": selectors.trigger_runs(tenant=request.tenant, trigger=trigger)[:5] if trigger else [],
    }
    template = "notifications/trigger_form.html#builder" if request.htmx else "notifications/trigger_form.html"
    return render(request, template, context)


@vary_on_headers("HX-Request")
@role_required(*SETTINGS)
def trigger_dry_run(request, pk):
    trigger = get_for_tenant_or_404(Trigger, request.tenant, pk=pk)
    number = (request.GET.get("order") or "").strip()
    result, error = None, ""
    if number:
        order = (
            Order.objects.filter(tenant=request.tenant, number=number)
            .select_related("status", "customer", "tenant")
            .first()
        )
        if order is None:
            error = gettext("No order %(number)s in this shop.") % {"number": number}
        else:
            result = triggers.dry_run(trigger=trigger, order=order)
            result["order"] = order
    context = {"trigger": trigger, "result": result, "error": error, "number": number}
    template = "notifications/dry_run.html#result" if request.htmx else "notifications/dry_run.html"
    return render(request, template, context)


@role_required(*SETTINGS)
def trigger_log(request, pk=None):
    trigger = get_for_tenant_or_404(Trigger, request.tenant, pk=pk) if pk else None
    runs = Paginator(selectors.trigger_runs(tenant=request.tenant, trigger=trigger), 50)
    return render(
        request, "notifications/trigger_log.html", {"trigger": trigger, "page": runs.get_page(request.GET.get("page"))}
    )

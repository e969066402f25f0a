"""Triggers: run from the outbox (after commit, in a worker), at most once per event, in bounded chains.

Actions that change orders go through the orders services, which record new events; the engine sets
`oms.events.event_depth` while acting, so those events carry `_depth` and a chain stops at MAX_DEPTH.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from inventory.models import Product
from oms import event_catalogue
from oms.actors import Actor
from oms.errors import DomainError
from oms.event_catalogue import (
    OrderPaymentChanged,
    OrderStatusChanged,
    ShipmentStatusChanged,
    StockLow,
    StockReceived,
)
from oms.events import event_depth, memo
from oms.models import Event
from orders.models import Group, Order, OrderStatus, StatusPurpose
from orders.services import customers as customer_services
from orders.services import editing, families, reservations, statuses
from orders.services import settings as order_settings
from orders.words import Words

from ..models import Channel, RunOutcome, Trigger, TriggerRun, WebhookEndpoint
from . import inbox, messaging, references, rules, webhooks

logger = logging.getLogger(__name__)

MAX_DEPTH = 5  # events caused by triggers, caused by triggers... stop here
RESERVE_ON_ARRIVAL_LIMIT = 200


def actor_for(trigger: Trigger) -> Actor:
    return Actor.system(f"trigger:{trigger.name}"[:150])


def order_of(event: Event) -> Order | None:
    order_id = (event.payload or {}).get("order_id")
    if not isinstance(order_id, int):
        return None
    return Order.objects.filter(tenant_id=event.tenant_id, pk=order_id).select_related("status", "customer").first()


def handle_event(event: Event) -> list[TriggerRun]:
    """The outbox subscriber: run the tenant's active triggers for this kind of event."""
    triggers = memo(
        ("triggers", event.tenant_id, event.kind),
        lambda: list(
            Trigger.objects.filter(tenant_id=event.tenant_id, event_kind=event.kind, is_active=True).order_by("pk")
        ),
    )
    if not triggers:
        return []
    order = order_of(event)
    runs = []
    for trigger in triggers:
        run = run_trigger(trigger=trigger, event=event, order=order)
        if run is not None:
            runs.append(run)
    return runs


def run_trigger(*, trigger: Trigger, event: Event, order: Order | None) -> TriggerRun | None:
    depth = int((event.payload or {}).get("_depth") or 0)
    if order is not None:
        order.refresh_from_db()  # an earlier trigger may have changed it
    matched, _ = rules.conditions_hold(trigger.conditions, event, order)
    if not matched:
        return None
    if depth >= MAX_DEPTH:  # caused by a chain of triggers this long: stop here, and say so in the log
        return _log_once(trigger, event, order, depth, RunOutcome.DEPTH_LIMIT, [f"Chain depth {depth}: not run."])
    run = _log_once(trigger, event, order, depth, RunOutcome.DONE, [])
    if run is None:
        return None  # this trigger already ran for this event
    results, failures = [], 0
    token = event_depth.set(depth + 1)
    try:
        for action in trigger.actions:
            try:
                with transaction.atomic():
                    results.append(
                        {"action": action.get("type"), "ok": True, "note": perform(trigger, action, event, order)}
                    )
            except DomainError as exc:
                failures += 1
                results.append({"action": action.get("type"), "ok": False, "note": exc.message})
            except Exception as exc:  # one broken action must not stop the others
                logger.exception("Trigger %s action %s failed", trigger.pk, action.get("type"))
                failures += 1
                results.append({"action": action.get("type"), "ok": False, "note": f"{type(exc).__name__}: {exc}"})
            if order is not None:
                order.refresh_from_db()
    finally:
        event_depth.reset(token)
    run.results = results
    run.outcome = (
        RunOutcome.DONE if not failures else RunOutcome.FAILED if failures == len(results) else RunOutcome.PARTIAL
    )
    run.save(update_fields=["results", "outcome"])
    return run


def _log_once(trigger, event, order, depth, outcome, results) -> TriggerRun | None:
    try:
        with transaction.atomic():
            return TriggerRun.objects.create(
                tenant_id=event.tenant_id,
                trigger=trigger,
                event=event,
                order=order,
                depth=depth,
                outcome=outcome,
                results=[{"action": "", "ok": outcome == RunOutcome.DONE, "note": r} for r in results],
            )
    except IntegrityError:
        return None


def _need_order(order: Order | None, kind: str) -> Order:
    if order is None:
        raise DomainError(
            gettext("'%(action)s' needs an order, and this event has none.") % {"action": rules.ACTIONS[kind][0]}
        )
    return order


def _due(action: dict):
    hours = str(action.get("hours") or "").strip()
    return timezone.now() + timedelta(hours=int(hours)) if hours.isdecimal() else None


def perform(trigger: Trigger, action: dict, event: Event, order: Order | None) -> str:
    """Do one action; returns a line for the execution log. Raises DomainError when it cannot."""
    kind, value, text = action.get("type"), str(action.get("value") or "").strip(), str(action.get("text") or "")
    actor, tenant = actor_for(trigger), trigger.tenant
    if kind == "change_status":
        order = _need_order(order, kind)
        # The admin who wrote the trigger chose this move; the group invariants still apply.
        statuses.change_status(order=order, to_code=value, actor=actor, skip_matrix=True)
        return f"Status changed to {Words(tenant.pk).status(value)}."
    if kind == "create_task":
        task = inbox.task_for_spec(
            tenant=tenant, spec=value or "manager", order=order, title=text, due_at=_due(action), actor=actor
        )
        return f"Task “{task.title}” created for {task.assignee or task.role}."
    if kind == "alert":
        users = inbox.resolve_recipients(tenant=tenant, spec=value or "manager", order=order)
        inbox.create_alerts(tenant=tenant, user_ids=users, title=text, order=order)
        return f"Alerted {len(users)} user(s)."
    if kind in ("email_customer", "sms_customer"):
        order = _need_order(order, kind)
        channel = Channel.EMAIL if kind == "email_customer" else Channel.SMS
        log = messaging.queue_customer_message(order=order, channel=channel, template_code=value, actor=actor)
        if not log.ok:
            raise DomainError(gettext("Not sent: %(error)s") % {"error": log.error})
        return f"{log.get_channel_display()} “{value}” to {log.to} queued for sending."
    if kind == "tag_customer":
        order = _need_order(order, kind)
        customer_services.tag_customer(customer=order.customer, tag=value)
        return f"Customer tagged {value.upper()}."
    if kind == "tag_order":
        order = _need_order(order, kind)
        tag = value.strip()
        if tag not in order.tags:
            editing.update_order_fields(order=order, changes={"tags": [*order.tags, tag]}, actor=actor)
        return f"Order tagged {tag}."
    if kind == "webhook":
        endpoint = WebhookEndpoint.objects.filter(tenant=tenant, pk=int(value) if value.isdecimal() else 0).first()
        if endpoint is None or not endpoint.is_active:
            raise DomainError(gettext("The webhook endpoint does not exist or is disabled."))
        made = webhooks.enqueue(event=event, endpoints=[endpoint])
        return f"Webhook to {endpoint.url} queued." if made else "Webhook already queued for this event."
    if kind == "reserve_stock":
        if order is not None:
            reservations.reserve_order(order=order, actor=actor)
            return "Reserved what stock allows."
        reserved = reserve_waiting_orders(event=event, actor=actor)
        return f"Reserved stock for {len(reserved)} waiting order(s)."
    if kind == "split_unavailable":
        order = _need_order(order, kind)
        child = families.split_unavailable(order=order, actor=actor)
        return f"Split off {child.number}."
    raise DomainError(gettext("Unknown action '%(kind)s'.") % {"kind": kind})


def reserve_waiting_orders(*, event: Event, actor: Actor) -> list[Order]:
    """When stock arrives: reserve the orders waiting in the split-off status that need these products, oldest first."""
    product_ids = [line.get("product_id") for line in event.payload.get("lines", []) if line.get("product_id")]
    product_ids = list(
        Product.objects.filter(tenant_id=event.tenant_id, pk__in=product_ids).values_list("pk", flat=True)
    )
    waiting = (
        Order.objects.filter(
            tenant_id=event.tenant_id,
            status__purpose=StatusPurpose.SPLIT_TARGET,
            lines__product_id__in=product_ids,
        )
        .distinct()
        .order_by("created_at", "pk")[:RESERVE_ON_ARRIVAL_LIMIT]
    )
    done = []
    for order in waiting:
        if any(line.reserved < line.quantity for line in order.lines.all()):
            done.append(reservations.reserve_order(order=order, actor=actor))
    return done


# --- dry run ---------------------------------------------------------------------------------------------


def sample_event(trigger: Trigger, order: Order) -> Event:
    """An unsaved event as the trigger would see it for this order (a status change is taken as *to* its status)."""
    payload = {"order_id": order.pk, "number": order.number}
    if trigger.event_kind in (OrderStatusChanged.kind, ShipmentStatusChanged.kind):
        payload.update({"from": None, "to": order.status.code, "to_group": order.group})
    if trigger.event_kind == OrderPaymentChanged.kind:
        payload.update({"from": None, "to": order.payment_status})
    if trigger.event_kind == StockReceived.kind:
        payload["lines"] = [{"sku": ln.product.sku, "product_id": ln.product_id} for ln in order.lines.all()]
    return Event(tenant_id=order.tenant_id, kind=trigger.event_kind, payload=payload, created_at=timezone.now())


def describe(action: dict, order: Order | None) -> str:
    kind, value, text = action.get("type"), str(action.get("value") or ""), str(action.get("text") or "")
    label = rules.ACTIONS.get(kind, (kind,))[0]
    if kind == "change_status" and order is not None:
        target = OrderStatus.objects.filter(tenant_id=order.tenant_id, code=value, is_active=True).first()
        if target is None:
            return f"{label}: there is no active status '{value}' — this would fail."
        if statuses.can_enter_group(order, target.group):
            return f"{label} to '{target.name}'"
        return f"{label} to '{target.name}' — blocked: " + "; ".join(statuses.blockers(order, target.group))
    if kind == "create_task":
        due = f", due in {action.get('hours')} h" if action.get("hours") else ""
        return f"{label} “{text}” for {value or 'manager'}{due}"
    if kind == "alert":
        return f"{label} ({value or 'manager'}): “{text}”"
    if kind in ("email_customer", "sms_customer") and order is not None:
        channel = Channel.EMAIL if kind == "email_customer" else Channel.SMS
        template = messaging.MessageTemplate.objects.filter(
            tenant_id=order.tenant_id, channel=channel, code=value
        ).first()
        if template is None:
            return f"{label}: there is no {channel} template '{value}' — this would fail."
        try:
            subject, body = messaging.render_message(template, order)
        except DomainError as exc:  # a stored text that no longer passes the checks
            return f"{label}: {exc.message} — this would fail."
        to = order.customer.email if channel == Channel.EMAIL else order.customer.phone
        return f"{label} ({to or 'no address — would fail'}): {subject or body[:120]}"
    if kind in ("tag_customer", "tag_order"):
        return f"{label} {value.upper() if kind == 'tag_customer' else value}"
    if kind == "split_unavailable" and order is not None:
        missing = [ln for ln in order.lines.all() if ln.reserved < ln.quantity]
        return f"{label}: {len(missing)} line(s) not fully reserved"
    return f"{label} {value}".strip()


def dry_run(*, trigger: Trigger, order: Order) -> dict:
    """What would happen for this order — nothing is written."""
    event = sample_event(trigger, order)
    matched, notes = rules.conditions_hold(trigger.conditions, event, order)
    return {
        "matched": matched,
        "conditions": notes or ["(no conditions: fires on every such event)"],
        "actions": [describe(action, order) for action in trigger.actions] if matched else [],
    }


# --- admin writes ----------------------------------------------------------------------------------------


@transaction.atomic
def save_trigger(
    *, tenant, name: str, event_kind: str, conditions: list[dict], actions: list[dict], is_active: bool, trigger=None
) -> Trigger:
    name = (name or "").strip()
    problems = ([] if name else ["Give the trigger a name."]) + (
        [] if event_kind in event_catalogue.BY_KIND else ["Choose an event."]
    )
    problems += rules.validate(conditions, actions)
    conditions, actions, unknown = references.check_references(
        tenant=tenant, event_kind=event_kind, conditions=conditions, actions=actions
    )
    problems += unknown
    if problems:
        raise DomainError(" ".join(problems), details={"problems": problems})
    trigger = trigger or Trigger(tenant=tenant)
    trigger.name, trigger.event_kind = name[:120], event_kind
    trigger.conditions, trigger.actions, trigger.is_active = conditions, actions, is_active
    trigger.updated_at = timezone.now()
    trigger.save()
    return trigger


def set_trigger_active(*, trigger: Trigger, active: bool) -> Trigger:
    trigger.is_active = active
    trigger.save(update_fields=["is_active"])
    return trigger


def delete_trigger(*, trigger: Trigger) -> None:
    trigger.delete()


# Ready-made templates: code -> (name, event, conditions, actions, description)
TEMPLATES = {
    "delivery-problem-task": (
        gettext_lazy("Task for the manager when delivery has a problem"),
        OrderStatusChanged.kind,
        [{"field": "to_purpose", "op": "eq", "value": StatusPurpose.DELIVERY_PROBLEM}],
        [{"type": "create_task", "value": "manager", "text": "Call the customer: delivery problem", "hours": "4"}],
        gettext_lazy("When an order moves to “Delivery problem”, its manager gets a task due in 4 hours."),
    ),
    "paid-to-assembly": (
        gettext_lazy("Paid orders go to assembly"),
        OrderPaymentChanged.kind,
        [
            {"field": "payment_status", "op": "eq", "value": "paid"},
            {"field": "group", "op": "in", "value": "new, approval"},
        ],
        [{"type": "reserve_stock"}, {"type": "change_status", "value": "assembling"}],
        gettext_lazy("When an order is paid, reserve its stock and move it to Assembling."),
    ),
    "refused-tags-bad": (
        gettext_lazy("Refused order tags the customer BAD"),
        OrderStatusChanged.kind,
        [{"field": "to_purpose", "op": "eq", "value": StatusPurpose.REFUSED}],
        [{"type": "tag_customer", "value": "BAD"}],
        gettext_lazy("When an order is refused (from any status), the customer gets the tag BAD."),
    ),
    "rest-follows": (
        gettext_lazy("Tell the customer the rest follows when a split order ships"),
        OrderStatusChanged.kind,
        [
            {"field": "to_purpose", "op": "eq", "value": StatusPurpose.HANDED_OVER},
            {"field": "parts_following", "op": "gt", "value": "0"},
        ],
        [{"type": "email_customer", "value": "rest-follows"}],
        gettext_lazy(
            "When an order whose purchase was split is handed over, the customer is e-mailed what this parcel holds "
            "and what follows, with the date."
        ),
    ),
    "low-stock-alert": (
        gettext_lazy("Alert the buyer when stock falls below its minimum"),
        StockLow.kind,
        [],
        [{"type": "alert", "value": "manager", "text": "Stock below its minimum: see Purchasing › To reorder"}],
        gettext_lazy(
            "When a product's available units fall below the minimum set for a warehouse, the managers are alerted "
            "(choose another role or a person as the buyer)."
        ),
    ),
    "reserve-on-arrival": (
        gettext_lazy("Reserve waiting split-off orders when stock arrives"),
        StockReceived.kind,
        [],
        [{"type": "reserve_stock"}],
        gettext_lazy("When stock is received, orders waiting in the split-off status are reserved, oldest first."),
    ),
}


@transaction.atomic
def create_from_template(*, tenant, code: str) -> Trigger:
    if code not in TEMPLATES:
        raise DomainError(gettext("Unknown template."))
    name, kind, conditions, actions, _ = TEMPLATES[code]
    name = str(name)  # in the language of the person who picks it: the trigger is theirs from here
    if code == "delivery-problem-task":
        _ensure_delivery_problem_status(tenant)
    messaging.install_default_templates(tenant=tenant)  # a shop from before a message template came has it now
    trigger = save_trigger(
        tenant=tenant, name=name, event_kind=kind, conditions=conditions, actions=actions, is_active=True
    )
    trigger.template_code = code
    trigger.save(update_fields=["template_code"])
    return trigger


def _ensure_delivery_problem_status(tenant) -> None:
    """The template needs a status for the purpose 'delivery problem', reachable from the delivery statuses."""
    status = OrderStatus.objects.filter(tenant=tenant, purpose=StatusPurpose.DELIVERY_PROBLEM).first()
    if status is None:
        code = "delivery-problem"
        while OrderStatus.objects.filter(tenant=tenant, code=code).exists():
            code = f"{code}-x"[:50]
        status = order_settings.save_status(
            tenant=tenant,
            code=code,
            name="Delivery problem",
            group=Group.DELIVERY,
            color="#d92d20",
            position=75,
            is_active=True,
            purpose=StatusPurpose.DELIVERY_PROBLEM,
        )
        by_purpose = {s.purpose: s for s in OrderStatus.objects.filter(tenant=tenant).exclude(purpose="")}
        P = StatusPurpose
        for a, b in [
            (P.HANDED_OVER, P.DELIVERY_PROBLEM),
            (P.IN_TRANSIT, P.DELIVERY_PROBLEM),
            (P.AT_PICKUP_POINT, P.DELIVERY_PROBLEM),
            (P.DELIVERY_PROBLEM, P.IN_TRANSIT),
            (P.DELIVERY_PROBLEM, P.REFUSED),
        ]:
            if a in by_purpose and b in by_purpose:
                order_settings.set_transition(
                    tenant=tenant, from_status=by_purpose[a], to_status=by_purpose[b], allowed=True
                )

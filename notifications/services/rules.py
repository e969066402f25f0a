"""What a trigger can test (fields and operators) and do (actions). Pure definitions, no writes here."""

from decimal import Decimal, InvalidOperation

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from oms.event_catalogue import OrderStatusChanged, ShipmentStatusChanged, StockReceived
from oms.models import Event
from orders.models import Order
from orders.words import Words

from ..errors import RuleError

# field -> label. Values are read by `field_value` from the event and its order.
FIELDS = {
    "status": _("Order status"),
    "group": _("Order status group"),
    "from_status": _("Changed from status"),
    "to_status": _("Changed to status"),
    "status_purpose": _("Order status purpose"),
    "from_purpose": _("Changed from (status purpose)"),
    "to_purpose": _("Changed to (status purpose)"),
    "channel": _("Channel"),
    "payment_status": _("Payment status"),
    "payment_method": _("Payment method"),
    "delivery_method": _("Delivery method"),
    "total": _("Order total"),
    "order_tags": _("Order tags"),
    "customer_tags": _("Customer tags"),
    "customer_orders": _("Customer's number of orders"),
    "parts_following": _("Parts of the purchase still to follow"),
    "skus": format_lazy(_("Received SKUs ({kind})"), kind=StockReceived.kind),
}

OPERATORS = {
    "any": _("is anything"),
    "eq": _("is"),
    "ne": _("is not"),
    "in": _("is one of (comma-separated)"),
    "not_in": _("is none of (comma-separated)"),
    "contains": _("contains"),
    "not_contains": _("does not contain"),
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
}
NUMERIC_OPERATORS = {"gt", "gte", "lt", "lte"}

ACTIONS = {
    "change_status": (_("Change status"), "status"),
    "create_task": (_("Create a task"), "assignee: manager, role:<role> or user:<name>"),
    "alert": (_("Alert users"), "recipients: manager, admins, role:<role> or user:<name>"),
    "email_customer": (_("E-mail the customer"), "template"),
    "sms_customer": (_("SMS the customer"), "template"),
    "tag_customer": (_("Tag the customer"), "tag"),
    "tag_order": (_("Tag the order"), "tag"),
    "webhook": (_("Call a webhook"), "webhook endpoint"),
    "reserve_stock": (_("Reserve stock"), "—"),
    "split_unavailable": (_("Split off unavailable lines"), "—"),
}


def _list_value(value: str) -> list[str]:
    return [v.strip().lower() for v in str(value or "").split(",") if v.strip()]


def field_value(field: str, event: Event, order: Order | None, cache: dict):
    payload = event.payload or {}
    if field in ("from_status", "to_status"):
        if event.kind not in (OrderStatusChanged.kind, ShipmentStatusChanged.kind):
            return None
        return payload.get("from" if field == "from_status" else "to")
    if field in ("from_purpose", "to_purpose"):
        if event.kind != OrderStatusChanged.kind:
            return None
        return payload.get(field) or ""
    if field == "skus":
        return [str(line.get("sku", "")) for line in payload.get("lines", [])]
    if order is None:
        return None
    if field == "status":
        return order.status.code
    if field == "status_purpose":
        return order.status.purpose
    if field == "order_tags":
        return list(order.tags)
    if field == "customer_tags":
        return list(order.customer.tags)
    if field == "customer_orders":
        if "customer_orders" not in cache:
            cache["customer_orders"] = Order.objects.filter(
                tenant_id=order.tenant_id, customer_id=order.customer_id
            ).count()
        return cache["customer_orders"]
    if field == "parts_following":  # asked once per event, however many conditions name it
        if "parts_following" not in cache:
            from .tracking import parts_that_follow

            cache["parts_following"] = len(parts_that_follow(order))
        return cache["parts_following"]
    return getattr(order, field, None)


def _number(value) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise RuleError(gettext("'%(value)s' is not a number.") % {"value": value}) from exc
    if number.is_nan():  # Decimal reads "NaN" but raises when it is compared
        raise RuleError(gettext("'%(value)s' is not a number.") % {"value": value})
    return number


def compare(op: str, actual, expected: str) -> bool:
    """Apply one operator. Text compares without case; list fields test membership."""
    if op == "any":
        return True
    if actual is None:
        return op in ("ne", "not_in", "not_contains")
    if op in NUMERIC_OPERATORS:
        left, right = _number(actual), _number(expected)
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
    if isinstance(actual, list):
        have = {str(a).strip().lower() for a in actual}
        wanted = _list_value(expected)
        if op in ("eq", "contains"):
            return bool(wanted) and all(w in have for w in wanted)
        if op in ("ne", "not_contains"):
            return not any(w in have for w in wanted)
        if op == "in":
            return bool(have & set(wanted))
        if op == "not_in":
            return not (have & set(wanted))
        raise RuleError(gettext("Unknown operator '%(op)s'.") % {"op": op})
    text = str(actual).strip().lower()
    wanted_text = str(expected or "").strip().lower()
    if isinstance(actual, int | Decimal) and op in ("eq", "ne"):
        equal = _number(actual) == _number(expected)
        return equal if op == "eq" else not equal
    if op == "eq":
        return text == wanted_text
    if op == "ne":
        return text != wanted_text
    if op == "in":
        return text in _list_value(expected)
    if op == "not_in":
        return text not in _list_value(expected)
    if op == "contains":
        return wanted_text in text
    if op == "not_contains":
        return wanted_text not in text
    raise RuleError(gettext("Unknown operator '%(op)s'.") % {"op": op})


def conditions_hold(conditions: list[dict], event: Event, order: Order | None) -> tuple[bool, list[str]]:
    """All must hold. Returns (verdict, one line per condition for the dry run and the log)."""
    cache: dict = {}
    notes, verdict = [], True
    words = Words(event.tenant_id)
    for cond in conditions:
        field, op, expected = cond.get("field"), cond.get("op"), cond.get("value", "")
        actual = field_value(field, event, order, cache)
        try:
            ok = compare(op, actual, expected)
        except RuleError as exc:
            ok = False
            notes.append(f"✗ {FIELDS.get(field, field)}: {exc}")
            verdict = False
            continue
        shown = ", ".join(map(str, actual)) if isinstance(actual, list) else words.value_of(field, actual)
        wanted = ", ".join(words.value_of(field, v.strip()) for v in str(expected or "").split(",") if v.strip())
        notes.append(f"{'✓' if ok else '✗'} {FIELDS.get(field, field)} {OPERATORS.get(op, op)} {wanted} (is: {shown})")
        verdict = verdict and ok
    return verdict, notes


def validate(conditions: list[dict], actions: list[dict]) -> list[str]:
    """Problems an admin must fix before saving; empty when the trigger is well-formed."""
    problems = []
    for i, cond in enumerate(conditions, 1):
        if cond.get("field") not in FIELDS:
            problems.append(gettext("Condition %(i)s: choose a field.") % {"i": i})
        if cond.get("op") not in OPERATORS:
            problems.append(gettext("Condition %(i)s: choose an operator.") % {"i": i})
        elif cond.get("op") in NUMERIC_OPERATORS:
            try:
                _number(cond.get("value"))
            except RuleError:
                problems.append(
                    gettext("Condition %(i)s: '%(value)s' is not a number.") % {"i": i, "value": cond.get("value")}
                )
        elif cond.get("op") != "any" and not str(cond.get("value", "")).strip():
            problems.append(gettext("Condition %(i)s: give a value.") % {"i": i})
    if not actions:
        problems.append(gettext("Add at least one action."))
    for i, action in enumerate(actions, 1):
        kind = action.get("type")
        if kind not in ACTIONS:
            problems.append(gettext("Action %(i)s: choose what to do.") % {"i": i})
            continue
        needs_value = kind not in ("reserve_stock", "split_unavailable", "create_task", "alert")
        if needs_value and not str(action.get("value", "")).strip():
            problems.append(
                gettext("Action %(i)s (%(action)s): give the %(what)s.")
                % {"i": i, "action": ACTIONS[kind][0], "what": ACTIONS[kind][1]}
            )
        if kind in ("create_task", "alert") and not str(action.get("text", "")).strip():
            problems.append(
                gettext("Action %(i)s (%(action)s): write the text.") % {"i": i, "action": ACTIONS[kind][0]}
            )
        if kind == "webhook" and not str(action.get("value", "")).strip().isdecimal():
            problems.append(gettext("Action %(i)s: choose a webhook endpoint.") % {"i": i})
        hours = str(action.get("hours", "") or "").strip()
        if hours and not (hours.isdecimal() and int(hours) <= 24 * 365):
            problems.append(gettext("Action %(i)s: due in hours must be a whole number.") % {"i": i})
    return problems

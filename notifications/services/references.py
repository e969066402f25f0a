"""What a trigger names must exist in the shop: statuses, groups, payment states, message templates, webhook
endpoints, recipients. A status may be written by its name ("Confirmed") or its code; it is stored as the code,
which is what the events carry. The same lists feed the builder's pickers, so a choice offered is a choice valid.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext

from oms.event_catalogue import ShipmentStatusChanged
from oms.models import Membership, Role
from orders.models import Group, OrderStatus, PaymentStatus, StatusPurpose

from ..models import Channel, MessageTemplate, WebhookEndpoint

STATUS_FIELDS = {"status", "from_status", "to_status"}
PURPOSE_FIELDS = {"status_purpose", "from_purpose", "to_purpose"}
CHOICE_FIELDS = STATUS_FIELDS | PURPOSE_FIELDS | {"group", "payment_status"}
EXACT_OPERATORS = {"eq", "ne", "in", "not_in"}
LIST_OPERATORS = {"in", "not_in"}
TEMPLATE_ACTIONS = {"email_customer": Channel.EMAIL, "sms_customer": Channel.SMS}
RECIPIENT_ACTIONS = {"create_task", "alert"}


@dataclass
class ShopValues:
    """The shop's own values a trigger may name, each as (value stored, name shown)."""

    statuses: list[tuple[str, str]]
    groups: list[tuple[str, str]] = field(default_factory=lambda: [(g.value, str(g.label)) for g in Group])
    payment: list[tuple[str, str]] = field(default_factory=lambda: [(p.value, str(p.label)) for p in PaymentStatus])
    purposes: list[tuple[str, str]] = field(default_factory=lambda: [(p.value, str(p.label)) for p in StatusPurpose])
    templates: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    endpoints: list[tuple[str, str]] = field(default_factory=list)
    recipients: list[tuple[str, str]] = field(default_factory=list)

    def for_field(self, name: str) -> list[tuple[str, str]]:
        if name in STATUS_FIELDS:
            return self.statuses
        if name in PURPOSE_FIELDS:
            return self.purposes
        return {"group": self.groups, "payment_status": self.payment}.get(name, [])

    def for_action(self, kind: str) -> list[tuple[str, str]]:
        if kind == "change_status":
            return self.statuses
        if kind in TEMPLATE_ACTIONS:
            return self.templates.get(TEMPLATE_ACTIONS[kind], [])
        if kind == "webhook":
            return self.endpoints
        if kind in RECIPIENT_ACTIONS:
            return self.recipients
        return []


def shop_values(*, tenant) -> ShopValues:
    statuses = OrderStatus.objects.filter(tenant=tenant).order_by("position", "pk").values_list("code", "name")
    templates: dict[str, list[tuple[str, str]]] = {}
    for code, channel, name in MessageTemplate.objects.filter(tenant=tenant, is_active=True).values_list(
        "code", "channel", "name"
    ):
        templates.setdefault(channel, []).append((code, name or code))
    endpoints = [
        (str(pk), url)
        for pk, url in WebhookEndpoint.objects.filter(tenant=tenant, is_active=True)
        .order_by("pk")
        .values_list("pk", "url")
    ]
    members = (
        Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True)
        .order_by("user__username")
        .values_list("user__username", flat=True)
        .distinct()
    )
    recipients = [("manager", "The order's manager (else every manager)"), ("admins", "Admins and owners")]
    recipients += [(f"role:{role.value}", f"Everyone with the role {role.label}") for role in Role]
    recipients += [(f"user:{username}", username) for username in members]
    return ShopValues(statuses=list(statuses), templates=templates, endpoints=endpoints, recipients=recipients)


def _match(value: str, choices: list[tuple[str, str]]) -> str | None:
    """The stored value a typed value means: a code or a name, in any case."""
    wanted = value.strip().lower()
    for code, name in choices:
        if wanted in (code.lower(), name.lower()):
            return code
    return None


def _names(choices, limit=12) -> str:
    shown = ", ".join(name for _, name in choices[:limit])
    return shown + (", …" if len(choices) > limit else "")


def check_references(
    *, tenant, event_kind: str, conditions: list[dict], actions: list[dict]
) -> tuple[list[dict], list[dict], list[str]]:
    """The conditions and actions with names turned into the codes they mean, and a problem for every value that
    names nothing of this shop."""
    values = shop_values(tenant=tenant)
    carrier_states = event_kind == ShipmentStatusChanged.kind  # its from/to are the carrier's states, not ours
    problems: list[str] = []
    cleaned_conditions = []
    for i, cond in enumerate(conditions, 1):
        cond = dict(cond)
        name, op = cond.get("field"), cond.get("op")
        choices = [] if carrier_states and name in ("from_status", "to_status") else values.for_field(name)
        if choices and op in EXACT_OPERATORS and str(cond.get("value", "")).strip():
            items = str(cond["value"]).split(",") if op in LIST_OPERATORS else [str(cond["value"])]
            matched = []
            for item in (item.strip() for item in items if item.strip()):
                code = _match(item, choices)
                if code is None:
                    message = (
                        gettext("Condition %(i)s: there is no status “%(item)s” in this shop (%(names)s).")
                        if name in STATUS_FIELDS
                        else gettext("Condition %(i)s: there is no value “%(item)s” in this shop (%(names)s).")
                    )
                    problems.append(message % {"i": i, "item": item, "names": _names(choices)})
                else:
                    matched.append(code)
            cond["value"] = ", ".join(matched) if op in LIST_OPERATORS else (matched[0] if matched else cond["value"])
        cleaned_conditions.append(cond)
    cleaned_actions = []
    for i, action in enumerate(actions, 1):
        action = dict(action)
        kind, value = action.get("type"), str(action.get("value") or "").strip()
        if kind == "change_status" and value:
            code = _match(value, values.statuses)
            if code is None:
                problems.append(
                    gettext("Action %(i)s: there is no status “%(value)s” in this shop (%(names)s).")
                    % {"i": i, "value": value, "names": _names(values.statuses)}
                )
            else:
                action["value"] = code
        elif kind in TEMPLATE_ACTIONS and value:
            templates = values.for_action(kind)
            code = _match(value, templates)
            if code is None:
                known = {"i": i, "kind": TEMPLATE_ACTIONS[kind].label, "value": value, "names": _names(templates)}
                problems.append(
                    (
                        gettext("Action %(i)s: there is no active %(kind)s template “%(value)s” (%(names)s).")
                        if templates
                        else gettext(
                            "Action %(i)s: there is no active %(kind)s template “%(value)s”; add one under Message "
                            "templates first."
                        )
                    )
                    % known
                )
            else:
                action["value"] = code
        elif kind == "webhook" and value.isdecimal() and value not in dict(values.endpoints):
            problems.append(
                gettext("Action %(i)s: webhook endpoint %(value)s does not exist or is disabled.")
                % {"i": i, "value": value}
            )
        elif kind in RECIPIENT_ACTIONS and value and value not in dict(values.recipients):
            problems.append(
                gettext("Action %(i)s: nobody is “%(value)s” in this shop; choose from the list.")
                % {"i": i, "value": value}
            )
        cleaned_actions.append(action)
    return cleaned_conditions, cleaned_actions, problems

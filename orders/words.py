"""The one place that turns internal codes into the shop's words: statuses by the shop's own names, groups, event
kinds, custody facts, payment states, field names and timeline entries. Screens, alerts, triggers, reports and
documents ask here instead of printing a code (a status code, an event kind, "packing_verified_at").

    words = Words(tenant_id)
    words.status("confirmed")   # "Confirmed" (or what the shop renamed it to)
    words.entry(activity)       # "Status: New → Confirmed"
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from oms import event_catalogue

from .models import ActivityKind, Group, OrderStatus, Payment, PaymentStatus

FACTS = {
    "packing_verified_at": gettext_lazy("Packed: every unit scanned"),
    "handed_over_at": gettext_lazy("Handed over"),
    "delivered_at": gettext_lazy("Delivered"),
    "delivery_failed": gettext_lazy("Delivery failed"),
}
FIELDS = {
    "delivery_method": gettext_lazy("Delivery method"),
    "delivery_address": gettext_lazy("Delivery address"),
    "payment_method": gettext_lazy("Payment method"),
    "payment_status": gettext_lazy("Payment"),
    "manager_id": gettext_lazy("Manager"),
    "comment": gettext_lazy("Comment"),
    "tags": gettext_lazy("Tags"),
    "channel": gettext_lazy("Channel"),
    "total": gettext_lazy("Total"),
    "delivery_cost": gettext_lazy("Delivery cost"),
    "discount": gettext_lazy("Discount"),
    # a line's change and a family's split or copy
    "sku": gettext_lazy("SKU"),
    "price": gettext_lazy("Price"),
    "quantity": gettext_lazy("Quantity"),
    "lines": gettext_lazy("Lines"),
    "child": gettext_lazy("Child order"),
    "parent": gettext_lazy("Parent order"),
}
DETAIL_WORDS = {
    "to": pgettext_lazy("handed over to someone", "to"),
    "note": gettext_lazy("note"),
    "verified": "",
    "reason": gettext_lazy("reason"),
}
EMPTY = "—"


class Words:
    """The words of one shop. Statuses are read once per instance (one query), on first use."""

    def __init__(self, tenant_id: int):
        self.tenant_id = getattr(tenant_id, "pk", tenant_id)
        self._statuses: dict[str, str] | None = None
        self._usernames: dict[str, str] = {}

    # --- single values -------------------------------------------------------------------------------------
    def status(self, code) -> str:
        if not code:
            return EMPTY
        if self._statuses is None:
            self._statuses = dict(OrderStatus.objects.filter(tenant_id=self.tenant_id).values_list("code", "name"))
        return self._statuses.get(code) or str(code).replace("-", " ").capitalize()

    def user(self, user_id) -> str:
        """A person recorded by id (an order's manager) by their username."""
        key = str(user_id)
        if key not in self._usernames:
            found = key.isdecimal() and get_user_model().objects.filter(pk=int(key)).values_list("username").first()
            self._usernames[key] = found[0] if found else key
        return self._usernames[key]

    @staticmethod
    def group(code) -> str:
        return str(Group(code).label) if code in Group.values else (str(code) if code else EMPTY)

    @staticmethod
    def event(kind) -> str:
        event = event_catalogue.BY_KIND.get(kind)
        return str(event.label) if event is not None else str(kind).replace(".", " ").replace("_", " ").capitalize()

    @staticmethod
    def fact(name) -> str:
        return str(FACTS.get(name) or "") or str(name).removesuffix("_at").replace("_", " ").capitalize()

    @staticmethod
    def payment(code) -> str:
        return str(PaymentStatus(code).label) if code in PaymentStatus.values else (str(code) if code else EMPTY)

    @staticmethod
    def field(name) -> str:
        return str(FIELDS.get(name) or "") or str(name).replace("_", " ").capitalize()

    def value_of(self, field: str, value) -> str:
        """A stored value of an order field in words."""
        if value in (None, ""):
            return EMPTY
        if field == "payment_status":
            return self.payment(value)
        if field in ("status", "from_status", "to_status"):
            return self.status(value)
        if field == "group":
            return self.group(value)
        if field == "manager_id":
            return self.user(value)
        return str(value)

    # --- timeline ------------------------------------------------------------------------------------------
    def entry(self, activity) -> str:
        """One line for a timeline entry (its kind is shown beside it)."""
        kind, changes = activity.kind, activity.changes if isinstance(activity.changes, dict) else {}
        if kind == ActivityKind.STATUS:
            before, after = (changes.get("status") or [None, None])[:2]
            return f"{self.status(before)} → {self.status(after)}"
        if kind == ActivityKind.NOTE:
            return str(changes.get("text", ""))
        if kind == ActivityKind.CUSTODY:
            if "delivery_failed" in changes:
                return f"{FACTS['delivery_failed']}: {changes['delivery_failed']}"
            if "return_announced" in changes:
                return gettext("Return announced: %(units)s unit(s), %(reason)s") % {
                    "units": changes.get("units", 0),
                    "reason": changes["return_announced"],
                }
            if "return_received" in changes:
                return gettext("Return received: %(units)s unit(s), %(note)s") % {
                    "units": changes.get("units", 0),
                    "note": changes["return_received"],
                }
            if "parcel_lost" in changes:
                return gettext("Parcel written off as lost: %(reason)s (%(units)s unit(s))") % {
                    "reason": changes["parcel_lost"],
                    "units": changes.get("units", 0),
                }
            parts = [self.fact(changes.get("fact", ""))]
            parts += [
                f"{DETAIL_WORDS.get(key, key)} {value}".strip()
                for key, value in changes.items()
                if key != "fact" and value and DETAIL_WORDS.get(key, key)
            ]
            return " · ".join(parts)
        if kind == ActivityKind.CREATED:
            lines = ", ".join(f"{sku} × {qty}" for sku, qty in changes.get("lines", []))
            via = gettext("via %(channel)s") % {"channel": changes.get("channel", EMPTY)}
            return via + (f": {lines}" if lines else "")
        if kind == ActivityKind.FIELDS:
            return "; ".join(
                f"{self.field(name)}: {self.value_of(name, pair[0])} → {self.value_of(name, pair[1])}"
                for name, pair in changes.items()
                if isinstance(pair, list | tuple) and len(pair) == 2
            )
        if kind == ActivityKind.MESSAGE:
            sent = gettext("sent") if changes.get("sent") else gettext("failed")
            return gettext("%(channel)s to %(to)s (%(outcome)s)") % {
                "channel": str(changes.get("channel", "")).upper(),
                "to": changes.get("to", EMPTY),
                "outcome": sent,
            }
        if kind == ActivityKind.PAYMENT:
            amount = {"amount": changes.get("amount", EMPTY)}
            is_refund = changes.get("kind") == "refund"
            what = gettext("Refund of %(amount)s") % amount if is_refund else gettext("Payment of %(amount)s") % amount
            method = changes.get("method", "")
            if changes.get("moved_with"):
                moved = " " + gettext("(moved within the family)")
            else:
                moved = " " + gettext("by %(method)s") % {"method": Payment.method_label(method)} if method else ""
            reference = f" · {changes['external_id']}" if changes.get("external_id") else ""
            return f"{what}{moved}{reference}"
        if kind == ActivityKind.RESERVED:
            return ", ".join(f"{sku} × {units}" for sku, units in changes.items())
        if kind == ActivityKind.RELEASED:
            return gettext("%(units)s unit(s)") % {"units": changes.get("units", 0)}
        return "; ".join(f"{self.field(key)}: {_plain(value)}" for key, value in changes.items())


def _plain(value) -> str:
    if isinstance(value, list) and all(isinstance(item, list | tuple) and len(item) == 2 for item in value):
        return ", ".join(f"{sku} × {quantity}" for sku, quantity in value)
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0] or EMPTY} → {value[1] or EMPTY}"
    return str(value)

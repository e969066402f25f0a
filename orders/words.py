"""The one place that turns internal codes into the shop's words: statuses by the shop's own names, groups, event
kinds, custody facts, payment states, field names and timeline entries. Screens, alerts, triggers, reports and
documents ask here instead of printing a code (a status code, an event kind, "packing_verified_at").

    words = Words(tenant_id)
    words.status("confirmed")   # "Confirmed" (or what the shop renamed it to)
    words.entry(activity)       # "Status: New → Confirmed"
"""

from oms import event_catalogue

from .models import ActivityKind, Group, OrderStatus, PaymentStatus

FACTS = {
    "packing_verified_at": "Packed: every unit scanned",
    "handed_over_at": "Handed over",
    "delivered_at": "Delivered",
    "delivery_failed": "Delivery failed",
}
FIELDS = {
    "delivery_method": "Delivery method",
    "delivery_address": "Delivery address",
    "payment_method": "Payment method",
    "payment_status": "Payment",
    "manager_id": "Manager",
    "comment": "Comment",
    "tags": "Tags",
    "channel": "Channel",
    "total": "Total",
}
DETAIL_WORDS = {"to": "to", "note": "note", "verified": "", "reason": "reason"}
EMPTY = "—"


class Words:
    """The words of one shop. Statuses are read once per instance (one query), on first use."""

    def __init__(self, tenant_id: int):
        self.tenant_id = getattr(tenant_id, "pk", tenant_id)
        self._statuses: dict[str, str] | None = None

    # --- single values -------------------------------------------------------------------------------------
    def status(self, code) -> str:
        if not code:
            return EMPTY
        if self._statuses is None:
            self._statuses = dict(OrderStatus.objects.filter(tenant_id=self.tenant_id).values_list("code", "name"))
        return self._statuses.get(code) or str(code).replace("-", " ").capitalize()

    @staticmethod
    def group(code) -> str:
        return Group(code).label if code in Group.values else (str(code) if code else EMPTY)

    @staticmethod
    def event(kind) -> str:
        event = event_catalogue.BY_KIND.get(kind)
        return event.label if event is not None else str(kind).replace(".", " ").replace("_", " ").capitalize()

    @staticmethod
    def fact(name) -> str:
        return FACTS.get(name) or str(name).removesuffix("_at").replace("_", " ").capitalize()

    @staticmethod
    def payment(code) -> str:
        return PaymentStatus(code).label if code in PaymentStatus.values else (str(code) if code else EMPTY)

    @staticmethod
    def field(name) -> str:
        return FIELDS.get(name) or str(name).replace("_", " ").capitalize()

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
                return f"Return announced: {changes.get('units', 0)} unit(s), {changes['return_announced']}"
            if "return_received" in changes:
                return f"Return received: {changes.get('units', 0)} unit(s), {changes['return_received']}"
            if "parcel_lost" in changes:
                return f"Parcel written off as lost: {changes['parcel_lost']} ({changes.get('units', 0)} unit(s))"
            parts = [self.fact(changes.get("fact", ""))]
            parts += [
                f"{DETAIL_WORDS.get(key, key)} {value}".strip()
                for key, value in changes.items()
                if key != "fact" and value and DETAIL_WORDS.get(key, key)
            ]
            return " · ".join(parts)
        if kind == ActivityKind.CREATED:
            lines = ", ".join(f"{sku} × {qty}" for sku, qty in changes.get("lines", []))
            return f"via {changes.get('channel', EMPTY)}" + (f": {lines}" if lines else "")
        if kind == ActivityKind.FIELDS:
            return "; ".join(
                f"{self.field(name)}: {self.value_of(name, pair[0])} → {self.value_of(name, pair[1])}"
                for name, pair in changes.items()
                if isinstance(pair, list | tuple) and len(pair) == 2
            )
        if kind == ActivityKind.MESSAGE:
            sent = "sent" if changes.get("sent") else "failed"
            return f"{str(changes.get('channel', '')).upper()} to {changes.get('to', EMPTY)} ({sent})"
        if kind == ActivityKind.PAYMENT:
            what = "Refund" if changes.get("kind") == "refund" else "Payment"
            method = changes.get("method", "")
            moved = " (moved within the family)" if method == "transfer" else f" by {method}" if method else ""
            reference = f" · {changes['external_id']}" if changes.get("external_id") else ""
            return f"{what} of {changes.get('amount', EMPTY)}{moved}{reference}"
        if kind == ActivityKind.RESERVED:
            return ", ".join(f"{sku} × {units}" for sku, units in changes.items())
        if kind == ActivityKind.RELEASED:
            return f"{changes.get('units', 0)} unit(s)"
        return "; ".join(f"{self.field(key)}: {_plain(value)}" for key, value in changes.items())


def _plain(value) -> str:
    if isinstance(value, list) and all(isinstance(item, list | tuple) and len(item) == 2 for item in value):
        return ", ".join(f"{sku} × {quantity}" for sku, quantity in value)
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0] or EMPTY} → {value[1] or EMPTY}"
    return str(value)

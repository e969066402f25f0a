"""The event catalogue: every kind of event the apps record, declared once, with its typed payload.

Services record an event by building one of these (`record_event(tenant=..., event=OrderCreated(...))`);
subscribers subscribe by its class (or `kind`); triggers, webhook settings, the API and the webhook
documentation (docs/webhooks.md, the webhook settings screen) read this list. A kind's `kind` string and its
payload's field names are part of the public webhook contract (API.md, "Webhooks"): add fields freely,
never rename or remove one.

It lives on the lowest floor so that every app can record and every app can listen without importing
each other. Each field carries a description and an example, from which the documentation's example
bodies are built.
"""

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field


class DomainEvent(BaseModel):
    """Base of every event kind: the payload's fields are the model's fields (aliases are the wire names)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: ClassVar[str]
    label: ClassVar[str]  # shown to admins (trigger and webhook settings); a candidate for translation
    description: ClassVar[str]  # when it happens, for webhook receivers

    def payload(self) -> dict[str, Any]:
        """The JSON payload stored in the outbox and sent as a webhook's `data`."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def example(cls) -> "DomainEvent":
        """An instance built from each field's first example: the documentation's sample payload."""
        return cls.model_validate({name: field.examples[0] for name, field in cls.model_fields.items()})

    @classmethod
    def field_docs(cls) -> list[tuple[str, str, str]]:
        """(wire name, JSON type, description) of every payload field, for the documentation."""
        schema = cls.model_json_schema(by_alias=True)
        rows = []
        for name, spec in schema["properties"].items():
            types = [part.get("type", "object") for part in spec.get("anyOf", [spec])]
            rows.append((name, " or ".join(types), spec.get("description", "")))
        return rows


def _order_id(example: int = 1042) -> Any:
    return Field(description="Id of the order (as in the REST API).", examples=[example])


def _number(example: str = "1042") -> Any:
    return Field(description="The order's number as people see it.", examples=[example])


class OrderCreated(DomainEvent):
    kind = "order.created"
    label = _("Order created")
    description = (
        "A new order was taken in (API or form), or split off or copied from another order; split-offs and "
        "copies name that order as their parent."
    )

    order_id: int = _order_id()
    number: str = _number()
    channel: str = Field(description="Sales channel, e.g. `web`.", examples=["web"])
    status: str = Field(description="Code of the status the order starts in.", examples=["new"])
    total: str = Field(description="Order total, a decimal string with two places.", examples=["59.80"])
    parent_id: int | None = Field(
        default=None, description="The order it was split off or copied from; null for a new order.", examples=[None]
    )


class OrderStatusChanged(DomainEvent):
    kind = "order.status_changed"
    label = _("Order status changed")
    description = "An order moved from one status to another (by a person, the API, a scan or a trigger)."

    order_id: int = _order_id()
    number: str = _number()
    from_status: str = Field(alias="from", description="Code of the status it left.", examples=["confirmed"])
    to_status: str = Field(alias="to", description="Code of the status it entered.", examples=["assembling"])
    from_group: str = Field(description="Group of the status it left.", examples=["approval"])
    to_group: str = Field(description="Group of the status it entered.", examples=["assembly"])
    actor: str = Field(description="Who moved it: a user name, `api:<token name>` or `system`.", examples=["anna"])
    from_purpose: str | None = Field(
        default=None,
        description="Purpose of the status it left (`packed`, `handed_over`, `delivered`, `refused`, ...); null "
        "when that status has none. Unlike codes, purposes do not change when a shop renames its statuses.",
        examples=[None],
    )
    to_purpose: str | None = Field(
        default=None,
        description="Purpose of the status it entered; null when that status has none.",
        examples=["packed"],
    )


class OrderOverdue(DomainEvent):
    kind = "order.overdue"
    label = _("Order overdue (time limit passed)")
    description = "An order stayed in its status longer than the status's time limit."

    order_id: int = _order_id()
    number: str = _number()
    status: str = Field(description="Code of the status it is overdue in.", examples=["assembling"])
    due_at: str = Field(description="When the time limit ran out (ISO 8601).", examples=["2026-03-02T14:00:00+00:00"])


class OrderPaymentChanged(DomainEvent):
    kind = "order.payment_changed"
    label = _("Order payment changed")
    description = "An order's payment status changed."

    order_id: int = _order_id()
    number: str = _number()
    from_status: str | None = Field(alias="from", description="The payment status before.", examples=["unpaid"])
    to_status: str | None = Field(alias="to", description="The payment status now.", examples=["paid"])


class ShipmentStatusChanged(DomainEvent):
    kind = "shipment.status_changed"
    label = _("Shipment status changed")
    description = (
        "A parcel was registered with a carrier (state `created`, no `from`) or the carrier reported a new state."
    )

    order_id: int = _order_id()
    number: str = _number()
    shipment_id: int = Field(description="Id of the shipment.", examples=[311])
    tracking_number: str = Field(description="The carrier's tracking number.", examples=["SB000311"])
    from_state: str | None = Field(
        default=None, alias="from", description="The state before; null when just created.", examples=["created"]
    )
    state: str = Field(
        description="The shipment state: created, in_transit, at_pickup_point, delivered, returning, returned, error.",
        examples=["in_transit"],
    )


class StockLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str
    product_id: int
    quantity: int


class StockReceived(DomainEvent):
    kind = "stock.received"
    label = _("Stock received")
    description = "Units arrived in a warehouse (a receipt, a purchase order received, an import)."

    warehouse: str = Field(description="Code of the warehouse.", examples=["MAIN"])
    lines: list[StockLine] = Field(
        description="What arrived: `sku`, `product_id`, `quantity` per line.",
        examples=[[{"sku": "TEA-01", "product_id": 7, "quantity": 24}]],
    )


class StockLow(DomainEvent):
    kind = "stock.low"
    label = _("Stock below its minimum")
    description = (
        "A product's available units in a warehouse fell below the minimum set for it (its reorder point); raised "
        "once per dip, checked every few minutes."
    )

    warehouse: str = Field(description="Code of the warehouse.", examples=["MAIN"])
    sku: str = Field(description="SKU of the product.", examples=["TEA-01"])
    product_id: int = Field(description="Id of the product.", examples=[7])
    available: int = Field(description="Units available now (on hand less reserved).", examples=[3])
    reorder_point: int = Field(description="The minimum set for the product in this warehouse.", examples=[10])
    reorder_quantity: int | None = Field(description="How many to order at a time, if set.", examples=[48])


class PurchaseExpectedChanged(DomainEvent):
    kind = "purchase.expected_changed"
    label = _("Purchase order date moved")
    description = "The date a purchase order is expected changed; orders waiting for its products are told."

    purchase_order_id: int = Field(description="Id of the purchase order.", examples=[12])
    number: str = Field(description="Number of the purchase order.", examples=["PO-12"])
    product_ids: list[int] = Field(description="Products still expected on it.", examples=[[7, 9]])
    from_date: str | None = Field(
        alias="from", description="The date before (ISO 8601), or null.", examples=["2026-12-15"]
    )
    to_date: str | None = Field(alias="to", description="The date now (ISO 8601), or null.", examples=["2026-12-20"])


class RouteIncident(DomainEvent):
    kind = "route.incident"
    label = _("Route incident")
    description = "A courier's route missed its departure deadline or was left with unresolved orders."

    incident_id: int = Field(description="Id of the incident.", examples=[5])
    incident_kind: str = Field(
        alias="kind", description="`missed_departure` or `left_open`.", examples=["missed_departure"]
    )
    route_id: int = Field(description="Id of the route.", examples=[88])
    courier: str = Field(description="The courier's user name.", examples=["courier"])
    date: str = Field(description="The route's day (ISO 8601 date).", examples=["2026-03-02"])
    message: str = Field(description="What happened, in words.", examples=["The courier has not departed by 10:00."])


# Every kind, in the order admins see them. A test checks the docs page and the settings list all of them.
CATALOGUE: tuple[type[DomainEvent], ...] = (
    OrderCreated,
    OrderStatusChanged,
    OrderOverdue,
    OrderPaymentChanged,
    ShipmentStatusChanged,
    StockReceived,
    StockLow,
    PurchaseExpectedChanged,
    RouteIncident,
)
BY_KIND: dict[str, type[DomainEvent]] = {event.kind: event for event in CATALOGUE}
KINDS: list[str] = list(BY_KIND)
CHOICES: list[tuple[str, str]] = [(event.kind, event.label) for event in CATALOGUE]

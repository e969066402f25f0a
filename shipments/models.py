"""Packing scans, custody transfers, courier routes and incidents, carriers, shipments and tracking events."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from oms.models import TenantOwned

DEFAULT_TRACKING_STATUS_MAP = {
    # our shipment state -> a status purpose (or a status code) of the tenant ("" = leave the order where it is)
    "in_transit": "in_transit",
    "at_pickup_point": "at_pickup_point",
    "delivered": "delivered",
    "returning": "",
    "error": "",
}


def default_tracking_status_map():
    return dict(DEFAULT_TRACKING_STATUS_MAP)


class ShipmentSettings(TenantOwned):
    """Per-tenant settings of the shipments module: route deadlines, document logo, tracking mapping."""

    departure_deadline = models.TimeField(default=datetime.time(11, 0), help_text="Couriers depart by this time.")
    end_of_day = models.TimeField(default=datetime.time(21, 0), help_text="Routes still open after this time raise.")
    logo = models.FileField(upload_to="shipments/logos/", blank=True)
    tracking_status_map = models.JSONField(default=default_tracking_status_map, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="shipmentsettings_one_per_tenant")]


class PackScan(TenantOwned):
    """One unit scanned at the packing station against a line of the order; undone scans stay as history."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=64, help_text="What was scanned: barcode or SKU.")
    scanned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    scanned_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "order", "line"], name="packscan_tenant_order_line")]
        constraints = [
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True) | Q(undone_at__gte=models.F("scanned_at")),
                name="packscan_undone_after_scan",
            )
        ]


class HolderKind(models.TextChoices):
    WAREHOUSE = "warehouse", _("Warehouse")
    COURIER = "courier", _("Courier")
    CARRIER = "carrier", _("Carrier")
    CUSTOMER = "customer", _("Customer")


def holder_name(kind: str, label: str) -> str:
    """Who holds a parcel, for a person to read: the warehouse is stored by its English word and read in their
    language; couriers and carriers by the name they had then."""
    return str(HolderKind.WAREHOUSE.label) if kind == HolderKind.WAREHOUSE else label


class CustodyTransfer(TenantOwned):
    """Who holds a parcel, from when: written only by a scan (handover, return) or by a confirmed delivery."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    from_kind = models.CharField(max_length=20, choices=HolderKind.choices)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_carrier = models.ForeignKey("Carrier", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_kind = models.CharField(max_length=20, choices=HolderKind.choices)
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_carrier = models.ForeignKey("Carrier", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_label = models.CharField(max_length=150)
    to_label = models.CharField(max_length=150)
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scanned_by_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=255, blank=True)

    @property
    def from_name(self) -> str:
        return holder_name(self.from_kind, self.from_label)

    @property
    def to_name(self) -> str:
        return holder_name(self.to_kind, self.to_label)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["tenant", "order", "at"], name="custody_tenant_order_at")]
        constraints = [
            models.CheckConstraint(condition=Q(from_kind__in=HolderKind.values), name="custody_from_kind_valid"),
            models.CheckConstraint(condition=Q(to_kind__in=HolderKind.values), name="custody_to_kind_valid"),
            models.CheckConstraint(
                condition=~Q(to_kind=HolderKind.COURIER) | Q(to_user__isnull=False), name="custody_courier_named"
            ),
            models.CheckConstraint(
                condition=~Q(to_kind=HolderKind.CARRIER) | Q(to_carrier__isnull=False), name="custody_carrier_named"
            ),
        ]


class Route(TenantOwned):
    """A courier's route for one day: the orders handed to them, departure, closing."""

    courier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    deadline = models.DateTimeField(help_text="Depart by.")
    departed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "courier", "date"], name="route_one_per_courier_day"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(departed_at__isnull=False), name="route_closed_after_departure"
            ),
        ]
        indexes = [
            models.Index(fields=["deadline"], name="route_open_deadline", condition=Q(closed_at__isnull=True)),
        ]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class StopResult(models.TextChoices):
    PENDING = "", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", pgettext_lazy("delivery", "Failed")


class RouteStop(TenantOwned):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)
    result = models.CharField(max_length=20, choices=StopResult.choices, blank=True, default="")
    reason = models.CharField(max_length=255, blank=True)
    amount_collected = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Cash due on delivery when the courier delivered; closing the route reconciles it against what was collected.
    amount_due = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True, help_text="Failed parcel scanned back in.")

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "route", "order"], name="routestop_unique_order"),
            models.CheckConstraint(condition=Q(result__in=StopResult.values), name="routestop_result_valid"),
            models.CheckConstraint(
                condition=~Q(result=StopResult.FAILED) | ~Q(reason=""), name="routestop_failure_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(amount_collected__isnull=True) | Q(amount_collected__gte=0),
                name="routestop_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(result="", resolved_at__isnull=True) | (~Q(result="") & Q(resolved_at__isnull=False)),
                name="routestop_resolved_has_time",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "order"], name="routestop_tenant_order")]


class IncidentKind(models.TextChoices):
    MISSED_DEPARTURE = "missed_departure", _("Route not departed by its deadline")
    LEFT_OPEN = "left_open", _("Route left open at end of day")
    CASH_MISMATCH = "cash_mismatch", _("Cash collected differs from cash due")


class Incident(TenantOwned):
    kind = models.CharField(max_length=30, choices=IncidentKind.choices)
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="incidents")
    message = models.TextField()  # in English, as webhooks carry it
    details = models.JSONField(default=dict, blank=True)  # the figures, so each reader gets it in their language
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "route", "kind"], name="incident_once_per_route_kind"),
            models.CheckConstraint(condition=Q(kind__in=IncidentKind.values), name="incident_kind_valid"),
        ]

    @property
    def text(self) -> str:
        """The incident in the reader's language and formats (rows from before `details` keep their message)."""
        from django.utils.dateformat import format as date_format
        from django.utils.formats import number_format
        from django.utils.translation import gettext

        found = self.details or {}
        day = date_format(self.route.date, "j M")
        if self.kind == IncidentKind.CASH_MISMATCH and {"due", "collected"} <= found.keys():
            due, collected = Decimal(found["due"]), Decimal(found["collected"])
            return gettext("Cash on delivery: %(due)s due, %(collected)s collected (%(difference)s).") % {
                "due": number_format(due, 2),
                "collected": number_format(collected, 2),
                "difference": ("+" if collected > due else "") + number_format(collected - due, 2),
            }
        if self.kind == IncidentKind.MISSED_DEPARTURE and "deadline" in found:
            return gettext("Not departed on the route of %(day)s (deadline %(deadline)s).") % {
                "day": day,
                "deadline": found["deadline"],
            }
        if self.kind == IncidentKind.LEFT_OPEN and "unresolved" in found:
            return gettext("The route of %(day)s is still open (%(unresolved)s unresolved).") % {
                "day": day,
                "unresolved": found["unresolved"],
            }
        return self.message


class CarrierKind(models.TextChoices):
    OWN = "own", _("Own couriers")
    HTTP = "http", _("HTTP/JSON carrier")
    SANDBOX = "sandbox", _("Sandbox (demo)")


class Carrier(TenantOwned):
    """A delivery service the tenant hands parcels to; `status_mapping` maps the carrier's words to our states."""

    kind = models.CharField(max_length=20, choices=CarrierKind.choices)
    name = models.CharField(max_length=100)
    base_url = models.URLField(blank=True)
    token = models.CharField(max_length=255, blank=True)
    status_mapping = models.JSONField(default=dict, blank=True)
    poll_interval_seconds = models.PositiveIntegerField(default=900)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="carrier_unique_name"),
            models.CheckConstraint(condition=Q(kind__in=CarrierKind.values), name="carrier_kind_valid"),
            models.CheckConstraint(condition=Q(poll_interval_seconds__gte=30), name="carrier_poll_interval_min"),
        ]

    def __str__(self):
        return self.name


class ShipmentState(models.TextChoices):
    CREATED = "created", _("Created")
    IN_TRANSIT = "in_transit", _("In transit")
    AT_PICKUP_POINT = "at_pickup_point", _("Arrived at pickup point")
    DELIVERED = "delivered", _("Delivered")
    RETURNING = "returning", _("Returning")
    RETURNED = "returned", _("Returned")
    ERROR = "error", _("Error")


FINAL_STATES = (ShipmentState.DELIVERED, ShipmentState.RETURNED)


class Shipment(TenantOwned):
    """One order's parcel with a carrier; polled for tracking events until delivered or returned."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=ShipmentState.choices, default=ShipmentState.CREATED)
    label_pdf = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "order"], name="shipment_one_per_order"),
            models.UniqueConstraint(fields=["tenant", "carrier", "tracking_number"], name="shipment_unique_tracking"),
            models.CheckConstraint(condition=Q(state__in=ShipmentState.values), name="shipment_state_valid"),
            models.CheckConstraint(
                condition=~Q(state__in=FINAL_STATES) | Q(next_poll_at__isnull=True),
                name="shipment_final_never_polled",
            ),
        ]
        indexes = [
            models.Index(fields=["next_poll_at"], name="shipment_poll_due", condition=Q(next_poll_at__isnull=False)),
        ]


class TrackingEvent(TenantOwned):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    external_id = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=ShipmentState.choices)
    raw_status = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "shipment", "external_id"], name="trackingevent_unique"),
            models.CheckConstraint(condition=Q(state__in=ShipmentState.values), name="trackingevent_state_valid"),
        ]


class ReturnState(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    RECEIVED = "received", _("Received")


class ReturnOutcome(models.TextChoices):
    RESTOCK = "restock", _("Back on the shelf")
    WRITE_OFF = "write_off", _("Written off")


class CustomerReturn(TenantOwned):
    """Lines of a delivered order the customer sends back: announced by a manager, received by scan at the
    warehouse, where each line is restocked or written off; refunded (a `refund` payment) on receipt if asked,
    and replaced by an exchange order in the family if asked."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=ReturnState.choices, default=ReturnState.EXPECTED)
    refund_on_receipt = models.BooleanField(default=False)
    refund_method = models.CharField(max_length=60, blank=True)
    refund = models.ForeignKey("orders.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    exchange = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    received_by_label = models.CharField(max_length=150, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "order"], name="customerreturn_order")]


class CustomerReturnLine(TenantOwned):
    customer_return = models.ForeignKey(CustomerReturn, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=ReturnOutcome.choices, blank=True)
    write_off_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="customerreturnline_quantity_positive"),
            models.UniqueConstraint(fields=["customer_return", "order_line"], name="customerreturnline_one_per_line"),
        ]

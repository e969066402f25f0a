"""Customers, orders and lines, the per-tenant status catalogue and transition matrix."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from inventory.models import LinesQuerySet
from oms.history import History
from oms.models import Role, TenantOwned


class Group(models.TextChoices):
    """The fixed groups every tenant status belongs to; the order's group is its django-fsm state."""

    NEW = "new", _("New")
    APPROVAL = "approval", _("Approval")
    ASSEMBLY = "assembly", _("Assembly")
    DELIVERY = "delivery", _("Delivery")
    COMPLETE = "complete", _("Complete")
    CANCEL = "cancel", _("Cancel")


class StatusPurpose(models.TextChoices):
    """What the code does with a status, whatever the shop calls it: at most one status per purpose and shop."""

    SPLIT_TARGET = "split_target", _("Split-off orders start here")
    PACKED = "packed", _("Packed (packing verified by scan)")
    HANDED_OVER = "handed_over", _("Handed over to a courier or carrier")
    IN_TRANSIT = "in_transit", _("In transit with the carrier")
    AT_PICKUP_POINT = "at_pickup_point", _("Waiting at the pickup point")
    DELIVERY_PROBLEM = "delivery_problem", _("Delivery problem")
    DELIVERED = "delivered", _("Delivered")
    REFUSED = "refused", _("Refused by the customer")
    RETURNED = "returned", _("Returned parcel received back")


# The groups a status of each purpose may belong to (the purpose's behaviour assumes the group's invariants).
PURPOSE_GROUPS = {
    StatusPurpose.SPLIT_TARGET: (Group.NEW, Group.APPROVAL),
    StatusPurpose.PACKED: (Group.ASSEMBLY,),
    StatusPurpose.HANDED_OVER: (Group.DELIVERY,),
    StatusPurpose.IN_TRANSIT: (Group.DELIVERY,),
    StatusPurpose.AT_PICKUP_POINT: (Group.DELIVERY,),
    StatusPurpose.DELIVERY_PROBLEM: (Group.DELIVERY,),
    StatusPurpose.DELIVERED: (Group.COMPLETE,),
    StatusPurpose.REFUSED: (Group.CANCEL,),
    StatusPurpose.RETURNED: (Group.CANCEL,),
}


class PaymentStatus(models.TextChoices):
    """Derived from the order's payments (services/payments.py); never set by hand."""

    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")


class Customer(TenantOwned):
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = History()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "name"], name="customer_tenant_name"),
            # Order search finds customers by any part of the name (`icontains` compares UPPER(name)).
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_upper_trgm"),
        ]

    def __str__(self):
        return self.name


class ContactKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


class CustomerContact(TenantOwned):
    """A phone or e-mail of a customer, normalised, by which a returning customer is recognised."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    value = models.CharField(max_length=200)
    normalized = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "normalized"], name="contact_unique_per_tenant"),
        ]
        indexes = [
            # Any run of digits of a phone finds it (`LIKE '%5551234%'`): trigrams of the digits, phones only.
            GinIndex(
                OpClass("normalized", name="gin_trgm_ops"),
                name="contact_phone_digits_trgm",
                condition=Q(kind="phone"),
            ),
        ]


class OrderStatus(TenantOwned):
    code = models.SlugField(max_length=50)
    name = models.CharField(max_length=100)
    group = models.CharField(max_length=20, choices=Group.choices)
    color = models.CharField(max_length=7, default="#667085")
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Where new orders of its group start.")
    purpose = models.CharField(
        max_length=30,
        choices=StatusPurpose.choices,
        blank=True,
        default="",
        help_text="What the system does with this status (packing, handover, returns ...), whatever its code.",
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="status_unique_code"),
            models.CheckConstraint(condition=Q(group__in=Group.values), name="status_group_valid"),
            models.UniqueConstraint(
                fields=["tenant", "group"], condition=Q(is_default=True), name="status_one_default_per_group"
            ),
            models.UniqueConstraint(
                fields=["tenant", "purpose"], condition=~Q(purpose=""), name="status_one_per_purpose"
            ),
            models.CheckConstraint(
                condition=Q(purpose="") | Q(purpose__in=StatusPurpose.values), name="status_purpose_valid"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_split_target(self) -> bool:
        return self.purpose == StatusPurpose.SPLIT_TARGET


class StatusTransition(TenantOwned):
    """One allowed move in the matrix. Blank channel = every channel without a matrix of its own;
    empty `roles` = any role."""

    from_status = models.ForeignKey(OrderStatus, on_delete=models.CASCADE, related_name="+")
    to_status = models.ForeignKey(OrderStatus, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=40, blank=True, default="")
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "channel", "from_status", "to_status"], name="transition_unique"),
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="transition_not_to_itself"),
        ]


class Order(TenantOwned):
    number = models.CharField(max_length=40)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    root = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="family")
    children_count = models.PositiveIntegerField(default=0, help_text="Numbers the next child: 1042-2, 1042-3 ...")
    channel = models.CharField(max_length=40, default="web")
    external_id = models.CharField(max_length=100, blank=True, default="")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.ForeignKey(OrderStatus, on_delete=models.PROTECT, related_name="+")
    # Not `protected`: it would break refresh_from_db; only services/statuses.py moves the group.
    group = FSMField(default=Group.NEW, choices=Group.choices)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery_method = models.CharField(max_length=60, blank=True)
    delivery_address = models.TextField(blank=True)
    payment_method = models.CharField(max_length=60, blank=True)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    # What the order's payments add up to, refunds subtracted; kept with every payment (services/payments.py).
    paid = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    comment = models.TextField(blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # Parts of the total besides the goods: total = Σ line amounts − discount + delivery cost (services/amounts.py).
    delivery_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Facts supplied by the shipments module; the group invariants read them.
    packing_verified_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    history = History(excluded_fields=["updated_at"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="order_unique_number"),
            models.UniqueConstraint(
                fields=["tenant", "channel", "external_id"],
                condition=~Q(external_id=""),
                name="order_unique_external_id",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(delivery_cost__gte=0) & Q(discount__gte=0), name="order_charges_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values), name="order_payment_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="order_tenant_created"),
            models.Index(fields=["tenant", "status", "-created_at"], name="order_tenant_status"),
            models.Index(fields=["tenant", "group", "-created_at"], name="order_tenant_group"),
            models.Index(fields=["tenant", "root"], name="order_tenant_root"),
            models.Index(fields=["tenant", "updated_at"], name="order_tenant_updated"),
            models.Index(fields=["tenant", "customer", "created_at"], name="order_tenant_customer"),
            models.Index(fields=["tenant", "manager", "-created_at"], name="order_tenant_manager"),
        ]

    def __str__(self):
        return f"Order {self.number}"

    def margin(self) -> Decimal | None:
        """What the goods earn over their cost, after the order's discount; None while any line has no cost."""
        lines = list(self.lines.all())
        if not lines or any(line.cost is None for line in lines):
            return None
        return sum((line.margin for line in lines), Decimal("0.00")) - self.discount

    @property
    def goods_total(self) -> Decimal:
        """What the lines add up to (after their own discounts), before the order's discount and delivery."""
        return self.total + self.discount - self.delivery_cost

    @property
    def due(self) -> Decimal:
        """What is still to be paid (API.md: total − paid; negative after an over-payment)."""
        return self.total - self.paid

    # --- the group state machine: hard invariants no setting can switch off ----------------------------
    def lines_unreserved(self) -> list[str]:
        return [
            gettext("Line %(sku)s: %(reserved)s of %(quantity)s reserved")
            % {"sku": line.product.sku, "reserved": line.reserved, "quantity": line.quantity}
            for line in self.lines.with_products()
            if line.reserved < line.quantity
        ]

    def assembly_blockers(self) -> list[str]:
        if not self.lines.exists():
            return [gettext("The order has no lines.")]
        return self.lines_unreserved()

    def delivery_blockers(self) -> list[str]:
        reasons = []
        if self.packing_verified_at is None:
            reasons.append(gettext("Packing has not been verified by scan."))
        if self.handed_over_at is None:
            reasons.append(gettext("Custody has not been handed over by scan."))
        # Units received back (or written off) are no longer with the parcel: a cancelled order re-enters only
        # while its parcel is still out.
        return reasons or self.lines_unreserved()

    def complete_blockers(self) -> list[str]:
        return [] if self.delivered_at is not None else [gettext("Delivery has not been confirmed.")]

    def _can_assemble(self):
        return not self.assembly_blockers()

    def _can_deliver(self):
        return not self.delivery_blockers()

    def _can_complete(self):
        return not self.complete_blockers()

    @transition(field=group, source=[Group.NEW, Group.APPROVAL, Group.ASSEMBLY], target=Group.NEW)
    def enter_new(self):
        pass

    @transition(field=group, source=[Group.NEW, Group.APPROVAL, Group.ASSEMBLY], target=Group.APPROVAL)
    def enter_approval(self):
        pass

    @transition(
        field=group,
        source=[Group.NEW, Group.APPROVAL, Group.DELIVERY],
        target=Group.ASSEMBLY,
        conditions=[_can_assemble],
    )
    def enter_assembly(self):
        pass

    @transition(field=group, source=[Group.ASSEMBLY, Group.CANCEL], target=Group.DELIVERY, conditions=[_can_deliver])
    def enter_delivery(self):
        pass

    @transition(field=group, source=[Group.DELIVERY], target=Group.COMPLETE, conditions=[_can_complete])
    def enter_complete(self):
        pass

    @transition(field=group, source="*", target=Group.CANCEL)
    def enter_cancel(self):
        pass


class OrderLine(TenantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    reserved = models.PositiveIntegerField(default=0)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))  # off this line's amount
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)  # unit cost when ordered
    history = History()

    objects = LinesQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gte=0), name="line_price_not_negative"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="line_discount_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("quantity")), name="line_reserved_within_quantity"),
        ]
        indexes = [models.Index(fields=["tenant", "order"], name="line_tenant_order")]

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity - self.discount

    @property
    def missing(self) -> int:
        return self.quantity - self.reserved

    @property
    def margin(self) -> Decimal | None:
        """What the line earns over its cost; None when the product had no cost price."""
        return None if self.cost is None else self.amount - self.cost * self.quantity


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")


class Payment(TenantOwned):
    """Money in (payment) or out (refund) of one order. Rows are never edited; a mistake is undone by a refund.

    A split moves the moved lines' share of what was paid: a refund on the parent and a payment on the child,
    both with method `transfer` and the other order named in `moved_with`.
    """

    TRANSFER = "transfer"
    COD = "cod"  # cash a courier collected on delivery

    @staticmethod
    def method_label(method: str) -> str:
        """How a method reads to people: the system's own codes in words, a shop's or a provider's as written."""
        return str({Payment.COD: _("cash on delivery")}.get(method, method))

    @property
    def method_display(self) -> str:
        return self.method_label(self.method)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField(max_length=10, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    method = models.CharField(max_length=60)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    external_id = models.CharField(max_length=100, blank=True, default="")
    moved_with = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=PaymentKind.values), name="payment_kind_valid"),
            models.UniqueConstraint(
                fields=["tenant", "order", "external_id"],
                condition=~Q(external_id=""),
                name="payment_unique_external_id",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "order", "created_at"], name="payment_tenant_order")]

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind == PaymentKind.PAYMENT else -self.amount


class ActivityKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status_changed", _("Status changed")
    FIELDS = "fields_changed", _("Fields edited")
    LINE_ADDED = "line_added", _("Line added")
    LINE_CHANGED = "line_changed", _("Line changed")
    LINE_REMOVED = "line_removed", _("Line removed")
    RESERVED = "reserved", _("Reserved")
    RELEASED = "released", _("Released")
    SPLIT = "split", _("Split off")
    SPLIT_FROM = "split_from", _("Split from parent")
    COPIED = "copied", _("Copied")
    NOTE = "note", _("Note")
    MESSAGE = "message", _("Message sent")
    CUSTODY = "custody", _("Custody")
    PAYMENT = "payment", _("Payment")


class OrderActivity(TenantOwned):
    """The order's timeline: who did what, when. Written by the services alongside every change."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=30, choices=ActivityKind.choices)
    changes = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="Who, when not a user: 'api:token', 'system'.")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["tenant", "order", "at"], name="activity_tenant_order")]

    @property
    def who(self) -> str:
        return self.actor.get_username() if self.actor_id else (self.actor_label or "system")


class AssignmentCursor(TenantOwned):
    """Round-robin position: the manager who got the last new order."""

    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="assignment_cursor_one_per_tenant")]

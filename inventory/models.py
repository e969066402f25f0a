"""Catalogue, warehouses, stock levels, the stock ledger and reservations."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from oms.db import AnyOf, HotQuery
from oms.models import TenantOwned, TenantOwnedQuerySet


class Product(TenantOwned):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    barcode = models.CharField(max_length=64, blank=True, help_text="EAN-13 or Code128 text")
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    category = models.CharField(max_length=100, blank=True)
    # What a unit costs the shop; order lines keep the cost of their day (orders' margin reports).
    cost_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_price__isnull=True) | Q(cost_price__gte=0), name="product_cost_not_negative"
            ),
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_unique_sku"),
            models.UniqueConstraint(
                fields=["tenant", "barcode"], condition=~Q(barcode=""), name="product_unique_barcode"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]
        indexes = [models.Index(fields=["tenant", "name"], name="product_tenant_name")]

    def __str__(self):
        return f"{self.sku} · {self.name}"


Product._meta.pk.register_lookup(AnyOf)
# Parsed once per session: every order page, reserve and packing scan reads its lines' products by their keys.
_products_by_key = HotQuery(lambda keys: Product.objects.filter(pk__any_of=keys), prepared=True, keys=[-7_301_007])


def attach_products(lines: list) -> list:
    """Give each line (any model with a `product`) its product, read by key in one statement. Not a join:
    PostgreSQL may merge lines with the products' key index read from its start, costed as stopping early by what
    the lines' statistics know of their products, and for a product newer than those (catalogues grow, new
    products sell) it walks the whole catalogue: 45 ms at 30,000 products, 100 ms at 300,000
    (tests/orders/test_lines_with_products.py)."""
    if lines:
        with_products(lines, _products_by_key(keys=sorted({line.product_id for line in lines})))
    return lines


def with_products(lines: list, products: list) -> list:
    """Give each line its product from these, read already (`attach_products`, or with the lines). One they lack is
    read by key: products read in a statement of their own after the lines (in one round trip, yet each with its own
    snapshot) miss the product of a line moved or removed in between."""
    by_key = {p.pk: p for p in products}
    missing = {line.product_id for line in lines} - by_key.keys()
    if missing:
        by_key.update((p.pk, p) for p in _products_by_key(keys=sorted(missing)))
    for line in lines:
        type(line).product.field.set_cached_value(line, by_key[line.product_id])
    return lines


class _LinesWithProducts(ModelIterable):
    def __iter__(self):
        yield from attach_products(list(super().__iter__()))


class LinesQuerySet(TenantOwnedQuerySet):
    """Lines of an order, a purchase or a transfer."""

    def with_products(self):
        """These lines, each with its product (`attach_products`), however the queryset is filtered, sliced or
        prefetched."""
        clone = self._chain()
        clone._iterable_class = _LinesWithProducts  # Django's hook for what iterating a queryset yields
        return clone


class Warehouse(TenantOwned):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower is reserved from first.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="warehouse_unique_code")]

    def __str__(self):
        return f"{self.code} · {self.name}"


class StockLevel(TenantOwned):
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    # Reorder point: below `reorder_point` available units the buyer is alerted (stock.low) and the level is listed
    # to reorder, `reorder_quantity` at a time; `low_since` marks an alert already raised for this dip.
    reorder_point = models.PositiveIntegerField(null=True, blank=True)
    reorder_quantity = models.PositiveIntegerField(null=True, blank=True)
    low_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "product"], name="stocklevel_reorder", condition=Q(reorder_point__isnull=False)
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product", "warehouse"], name="stocklevel_unique"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_within_on_hand"
            ),
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MoveKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    SHIPMENT = "shipment", _("Shipment")
    RETURN = "return", _("Return")
    WRITE_OFF = "write-off", _("Write-off")
    ADJUSTMENT = "adjustment", _("Adjustment")
    TRANSFER_OUT = "transfer-out", _("Sent to another warehouse")
    TRANSFER_IN = "transfer-in", _("Received from another warehouse")


class StockMove(TenantOwned):
    """One change of on-hand stock. On-hand always equals the sum of `quantity` (signed) per level."""

    kind = models.CharField(max_length=20, choices=MoveKind.choices)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="moves")
    quantity = models.IntegerField(help_text="Signed change of on-hand units.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True)
    # The order line shipped or returned, if any. A plain id, not a foreign key: inventory sits below orders and
    # knows no order table; orders.services.editing forgets the id when it deletes a line (inventory.forget_lines).
    order_line_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The purchase order a receipt came in on (purchasing.py).
    purchase_order = models.ForeignKey(
        "PurchaseOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="moves"
    )
    # The transfer a unit left or arrived on (transfers.py).
    transfer = models.ForeignKey("Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="moves")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="stockmove_not_zero"),
            models.CheckConstraint(condition=Q(kind__in=MoveKind.values), name="stockmove_kind_valid"),
        ]
        indexes = [models.Index(fields=["tenant", "product", "created_at"], name="stockmove_tenant_product")]


class Reservation(TenantOwned):
    """Units of one warehouse held for one order line."""

    # The order line's id, without a foreign key to orders (a lower app points at no higher one): orders removes a
    # line's reservations through inventory's services (release, forget_lines) before it deletes the line.
    line_id = models.BigIntegerField(db_index=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "line_id", "warehouse"], name="reservation_unique_line_warehouse"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "product", "warehouse"], name="reservation_tenant_product")]


class Supplier(TenantOwned):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="supplier_unique_name")]

    def __str__(self):
        return self.name


class PurchaseState(models.TextChoices):
    ORDERED = "ordered", _("Ordered")
    PARTIALLY_RECEIVED = "partially_received", _("Partially received")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", pgettext_lazy("purchase order", "Cancelled")


OPEN_PURCHASE_STATES = (PurchaseState.ORDERED, PurchaseState.PARTIALLY_RECEIVED)


class PurchaseOrder(TenantOwned):
    """Stock ordered from a supplier into one warehouse; received (by scan or form) in one or more deliveries."""

    number = models.CharField(max_length=30)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=PurchaseState.choices, default=PurchaseState.ORDERED)
    expected_at = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="purchaseorder_unique_number"),
            models.CheckConstraint(condition=Q(state__in=PurchaseState.values), name="purchaseorder_state_valid"),
        ]
        indexes = [models.Index(fields=["tenant", "state", "expected_at"], name="purchaseorder_tenant_state")]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_PURCHASE_STATES


class PurchaseOrderLine(TenantOwned):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    objects = LinesQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="purchaseline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="purchaseline_quantity_positive"),
            models.CheckConstraint(condition=Q(received__lte=F("quantity")), name="purchaseline_not_over_received"),
        ]
        indexes = [models.Index(fields=["tenant", "product"], name="purchaseline_tenant_product")]

    @property
    def outstanding(self) -> int:
        """Units not (yet) received: on the way while the transfer is open, gone back or lost once it is closed."""
        return self.quantity - self.received

    @property
    def amount(self):
        return None if self.cost is None else self.cost * self.quantity


class TransferState(models.TextChoices):
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled: the rest went back")
    CLOSED_SHORT = "closed_short", _("Closed: the rest was lost")


class Transfer(TenantOwned):
    """Goods moved from one warehouse to another: they leave the source when the transfer is made (a
    `transfer-out` movement each), travel where neither warehouse can sell them, and arrive by scan or form at the
    destination (`transfer-in`)."""

    number = models.CharField(max_length=30)
    from_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    to_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=TransferState.choices, default=TransferState.IN_TRANSIT)
    expected_at = models.DateField(null=True, blank=True)  # when it should arrive; waiting orders show it
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)
    # Ended before all arrived: cancelled (what had not arrived went back to the source) or closed short (lost).
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)
    closed_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="transfer_unique_number"),
            models.CheckConstraint(condition=Q(state__in=TransferState.values), name="transfer_state_valid"),
            models.CheckConstraint(condition=~Q(from_warehouse=F("to_warehouse")), name="transfer_two_warehouses"),
        ]

    def __str__(self):
        return self.number


class TransferLine(TenantOwned):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)

    objects = LinesQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transferline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transferline_quantity_positive"),
            models.CheckConstraint(condition=Q(received__lte=F("quantity")), name="transferline_not_over_received"),
        ]

    @property
    def outstanding(self) -> int:
        """Units not (yet) received: on the way while the transfer is open, gone back or lost once it is closed."""
        return self.quantity - self.received


class WarehouseStaff(TenantOwned):
    """A packer who works at this warehouse. A packer with any such row packs only orders reserved there; one with
    none works at every warehouse."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["warehouse", "user"], name="warehousestaff_unique")]

"""Purchasing: suppliers, purchase orders, and receiving them into stock (API.md "Purchasing").

Receiving locks the purchase order row, then stock levels in product order (services.receive), so two people
receiving the same delivery can never book more than was ordered.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext

from oms.errors import Conflict
from oms.event_catalogue import PurchaseExpectedChanged
from oms.events import record_event

from . import locks, services
from .errors import InvalidQuantity, UnknownProduct, UnknownWarehouse
from .models import (
    OPEN_PURCHASE_STATES,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseState,
    Supplier,
    Warehouse,
)

MAX_LINES = 1000
MAX_COST = Decimal("9999999999.99")
MAX_DAYS_AHEAD = 36_525  # a later date is a typo, and near the calendar's end the delivery promise overflows


class PurchaseOrderClosed(Conflict):
    code = "purchase_order_closed"


@dataclass(frozen=True)
class PurchaseLine:
    sku: str
    quantity: int
    cost: Decimal | None = None


def _supplier(tenant, name: str) -> Supplier:
    name = " ".join((name or "").split())
    if not name or len(name) > 200 or "\x00" in name:
        raise InvalidQuantity(gettext("Name the supplier (at most 200 characters)."), field="supplier")
    supplier = Supplier.objects.filter(tenant=tenant, name__iexact=name).first()
    if supplier is None:
        Supplier.objects.bulk_create([Supplier(tenant=tenant, name=name)], ignore_conflicts=True)
        supplier = Supplier.objects.get(tenant=tenant, name=name)
    return supplier


def _products(tenant, skus) -> dict[str, Product]:
    skus = set(skus)
    products = {p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in=skus)}
    unknown = sorted(skus - products.keys())
    if unknown:
        raise UnknownProduct(
            gettext("Unknown SKU: %(unknown)s.") % {"unknown": ", ".join(unknown)}, details={"skus": unknown}
        )
    return products


def _check_lines(lines: list[PurchaseLine]) -> None:
    if not lines or len(lines) > MAX_LINES:
        raise InvalidQuantity(
            gettext("A purchase order needs 1 to %(max_lines)s lines.") % {"max_lines": MAX_LINES}, field="lines"
        )
    for line in lines:
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= 1_000_000:
            raise InvalidQuantity(
                gettext("Quantity of %(sku)s must be a whole number from 1 to 1,000,000.") % {"sku": line.sku},
                field="lines",
            )
        if line.cost is not None and not (Decimal("0") <= line.cost <= MAX_COST):
            raise InvalidQuantity(gettext("Cost of %(sku)s must be zero or more.") % {"sku": line.sku}, field="lines")
        if line.cost is not None and line.cost != line.cost.quantize(Decimal("0.01")):
            raise InvalidQuantity(
                gettext("Cost of %(sku)s must have at most two decimals.") % {"sku": line.sku}, field="lines"
            )


def _merged(lines: list[PurchaseLine]) -> dict[str, PurchaseLine]:
    """The same SKU twice is one line of the summed quantity, at the cost either gives; two different costs are
    refused rather than one of them lost."""
    merged: dict[str, PurchaseLine] = {}
    for line in lines:
        seen = merged.get(line.sku)
        if seen is None:
            merged[line.sku] = line
            continue
        if None not in (seen.cost, line.cost) and seen.cost != line.cost:
            raise InvalidQuantity(
                gettext("%(sku)s is listed twice at different costs: make it one line.") % {"sku": line.sku},
                field="lines",
            )
        merged[line.sku] = PurchaseLine(
            line.sku, seen.quantity + line.quantity, line.cost if seen.cost is None else seen.cost
        )
    _check_lines(list(merged.values()))  # the summed quantities too
    return merged


def check_expected(expected_at) -> None:
    """A date the goods can still come: not before today in the shop's time zone nor years ahead (a wrong year is a
    typo, and waiting orders would be told it)."""
    if expected_at is None:
        return
    if not isinstance(expected_at, datetime.date):
        raise InvalidQuantity(gettext("Expected date must be a date such as 2026-12-31."), field="expected_at")
    today = timezone.localdate()
    if expected_at < today:
        raise InvalidQuantity(
            gettext("The expected date %(day)s has passed; give today (%(today)s) or later.")
            % {"day": expected_at.isoformat(), "today": today.isoformat()},
            field="expected_at",
        )
    if expected_at > today + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidQuantity(
            gettext("The expected date %(day)s is more than a hundred years ahead; check the year.")
            % {"day": expected_at.isoformat()},
            field="expected_at",
        )


@transaction.atomic
def create_purchase_order(
    *, tenant, supplier: str, warehouse_code: str, lines: list[PurchaseLine], expected_at=None, actor=None
) -> PurchaseOrder:
    _check_lines(lines)
    warehouse = Warehouse.objects.filter(tenant=tenant, code=warehouse_code).first()
    if warehouse is None:
        raise UnknownWarehouse(
            gettext("Unknown warehouse '%(code)s'.") % {"code": warehouse_code},
            details={"warehouse": warehouse_code},
        )
    check_expected(expected_at)
    merged = _merged(lines)
    products = _products(tenant, merged)
    order = PurchaseOrder.objects.create(
        tenant=tenant,
        number="",
        supplier=_supplier(tenant, supplier),
        warehouse=warehouse,
        expected_at=expected_at,
        created_by=actor,
    )
    order.number = f"PO-{order.pk}"
    PurchaseOrder.objects.filter(pk=order.pk).update(number=order.number)
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(
                tenant=tenant, purchase_order=order, product=products[sku], quantity=line.quantity, cost=line.cost
            )
            for sku, line in merged.items()
        ]
    )
    return order


@transaction.atomic
def receive_purchase_order(*, order: PurchaseOrder, lines: list[tuple[str, int]], actor=None) -> PurchaseOrder:
    """Book what arrived: `receipt` movements naming the purchase order; more than is still expected is refused."""
    order = locks.lock_purchase_order(order)
    if not order.is_open:
        raise PurchaseOrderClosed(
            gettext("%(number)s is %(state)s; nothing more can arrive.")
            % {"number": order.number, "state": order.get_state_display().lower()}
        )
    wanted, by_sku = services.check_arrival(
        number=order.number, lines=lines, locked_lines=locks.lock_purchase_lines(order), still=gettext("expected")
    )
    for sku, quantity in wanted.items():
        PurchaseOrderLine.objects.filter(pk=by_sku[sku].pk).update(received=F("received") + quantity)
    services.receive(
        tenant=order.tenant,
        warehouse=order.warehouse,
        lines=[(by_sku[sku].product, quantity) for sku, quantity in wanted.items()],
        actor=actor,
        reason=f"Purchase order {order.number}",
        purchase_order=order,
    )
    left = order.lines.filter(received__lt=F("quantity")).exists()
    order.state = PurchaseState.PARTIALLY_RECEIVED if left else PurchaseState.RECEIVED
    order.save(update_fields=["state"])
    return order


def receive_scanned_unit(*, order: PurchaseOrder, code: str, actor=None) -> tuple[PurchaseOrder, Product]:
    """One scanned unit (barcode or SKU) received on the purchase order."""
    product = services.product_on(document=order, code=code)
    return receive_purchase_order(order=order, lines=[(product.sku, 1)], actor=actor), product


@transaction.atomic
def cancel_purchase_order(*, order: PurchaseOrder) -> PurchaseOrder:
    order = locks.lock_purchase_order(order)
    if not order.is_open:
        raise PurchaseOrderClosed(
            gettext("%(number)s is already %(state)s.")
            % {"number": order.number, "state": order.get_state_display().lower()}
        )
    order.state = PurchaseState.CANCELLED
    order.save(update_fields=["state"])
    return order


def _outstanding(tenant, product_ids):
    """Lines of open purchase orders with units still to come (of these products, when given)."""
    rows = PurchaseOrderLine.objects.filter(
        tenant=tenant, purchase_order__state__in=OPEN_PURCHASE_STATES, received__lt=F("quantity")
    )
    return rows if product_ids is None else rows.filter(product_id__in=list(product_ids))


def incoming(*, tenant, product_ids=None) -> dict[int, tuple[int, datetime.date | None]]:
    """Per product: units still expected on open purchase orders, and the earliest expected date."""
    totals = (
        _outstanding(tenant, product_ids)
        .values("product_id")
        .annotate(units=Sum(F("quantity") - F("received")), earliest=Min("purchase_order__expected_at"))
    )
    return {row["product_id"]: (row["units"], row["earliest"]) for row in totals}


def incoming_to_warehouses(*, tenant, product_ids) -> dict[tuple[int, int], int]:
    """Per (product, warehouse): units still expected there on open purchase orders."""
    totals = (
        _outstanding(tenant, product_ids)
        .values("product_id", "purchase_order__warehouse_id")
        .annotate(units=Sum(F("quantity") - F("received")))
    )
    return {(row["product_id"], row["purchase_order__warehouse_id"]): row["units"] for row in totals}


@transaction.atomic
def change_expected_date(*, order: PurchaseOrder, expected_at) -> PurchaseOrder:
    """A supplier's new date; orders waiting for what is still expected hear of it (their timelines say so)."""
    if expected_at is not None and not isinstance(expected_at, datetime.date):
        raise InvalidQuantity(gettext("Expected date must be a date such as 2026-12-31."), field="expected_at")
    order = locks.lock_purchase_order(order)
    if not order.is_open:
        raise PurchaseOrderClosed(
            gettext("%(number)s is %(state)s; its date cannot change.")
            % {"number": order.number, "state": order.get_state_display().lower()}
        )
    before = order.expected_at
    if before == expected_at:
        return order
    check_expected(expected_at)
    order.expected_at = expected_at
    order.save(update_fields=["expected_at"])
    record_event(
        tenant=order.tenant,
        event=PurchaseExpectedChanged(
            purchase_order_id=order.pk,
            number=order.number,
            product_ids=list(order.lines.filter(received__lt=F("quantity")).values_list("product_id", flat=True)),
            from_date=before.isoformat() if before else None,
            to_date=expected_at.isoformat() if expected_at else None,
        ),
    )
    return order


def earliest_ship_date(*, tenant, product: Product, quantity: int, today: datetime.date):
    """When `quantity` units could leave: today from available stock, else the expected date of the open
    purchase order that brings the last unit needed (None: no date can be promised)."""
    from .models import StockLevel

    available = sum(
        level.available
        for level in StockLevel.objects.filter(tenant=tenant, product=product, warehouse__is_active=True)
    )
    if available >= quantity:
        return today, True
    still_needed = quantity - max(available, 0)
    incoming_lines = (
        PurchaseOrderLine.objects.filter(
            tenant=tenant, product=product, purchase_order__state__in=OPEN_PURCHASE_STATES, received__lt=F("quantity")
        )
        .select_related("purchase_order")
        .order_by(F("purchase_order__expected_at").asc(nulls_last=True), "pk")
    )
    for line in incoming_lines:
        if line.purchase_order.expected_at is None:
            return None, False
        still_needed -= line.outstanding
        if still_needed <= 0:
            return max(line.purchase_order.expected_at, today), False
    return None, False

"""Every write to the catalogue and stock. Stock counters change only inside row locks (see locks.py)."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from oms.db import retry_on_conflict

from . import locks
from .errors import (
    DuplicateBarcode,
    DuplicateSku,
    DuplicateWarehouse,
    InsufficientStock,
    InvalidQuantity,
)
from .models import MoveKind, Product, Reservation, StockLevel, StockMove, Warehouse

MAX_UNITS = 1_000_000


def _check_quantity(quantity, *, allow_zero=False) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidQuantity("Quantity must be a whole number.")
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity("Quantity must be at least 1." if not allow_zero else "Quantity cannot be negative.")
    if quantity > MAX_UNITS:
        raise InvalidQuantity(f"Quantity must be at most {MAX_UNITS:,}.")
    return quantity


# --- catalogue ---------------------------------------------------------------------------------------------


def create_product(*, tenant, sku: str, name: str, price: Decimal, barcode: str = "") -> Product:
    sku, barcode = sku.strip(), (barcode or "").strip()
    if Product.objects.filter(tenant=tenant, sku=sku).exists():
        raise DuplicateSku(f"A product with SKU '{sku}' already exists.", details={"sku": sku})
    if barcode and Product.objects.filter(tenant=tenant, barcode=barcode).exists():
        raise DuplicateBarcode(f"Barcode '{barcode}' is already used by another product.", details={"barcode": barcode})
    try:
        with transaction.atomic():
            return Product.objects.create(tenant=tenant, sku=sku, name=name.strip(), price=price, barcode=barcode)
    except IntegrityError as exc:  # a concurrent create won the race
        raise DuplicateSku(f"A product with SKU '{sku}' already exists.", details={"sku": sku}) from exc


def update_product(*, product: Product, name: str, price: Decimal, barcode: str, is_active: bool) -> Product:
    barcode = (barcode or "").strip()
    if barcode and Product.objects.filter(tenant=product.tenant, barcode=barcode).exclude(pk=product.pk).exists():
        raise DuplicateBarcode(f"Barcode '{barcode}' is already used by another product.")
    product.name, product.price, product.barcode, product.is_active = name.strip(), price, barcode, is_active
    product.save(update_fields=["name", "price", "barcode", "is_active"])
    return product


def create_warehouse(*, tenant, code: str, name: str, priority: int = 100) -> Warehouse:
    code = code.strip()
    if Warehouse.objects.filter(tenant=tenant, code=code).exists():
        raise DuplicateWarehouse(f"A warehouse with code '{code}' already exists.", details={"code": code})
    try:
        with transaction.atomic():
            return Warehouse.objects.create(tenant=tenant, code=code, name=name.strip(), priority=priority)
    except IntegrityError as exc:
        raise DuplicateWarehouse(f"A warehouse with code '{code}' already exists.") from exc


def update_warehouse(*, warehouse: Warehouse, name: str, priority: int, is_active: bool) -> Warehouse:
    warehouse.name, warehouse.priority, warehouse.is_active = name.strip(), priority, is_active
    warehouse.save(update_fields=["name", "priority", "is_active"])
    return warehouse


# --- ledger ------------------------------------------------------------------------------------------------


def _move(*, level: StockLevel, kind: str, quantity: int, actor, reason: str, order_line_id=None) -> StockMove:
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + quantity)
    level.on_hand += quantity
    return StockMove.objects.create(
        tenant_id=level.tenant_id,
        kind=kind,
        warehouse_id=level.warehouse_id,
        product_id=level.product_id,
        quantity=quantity,
        actor=actor,
        reason=reason,
        order_line_id=order_line_id,
    )


@retry_on_conflict()
@transaction.atomic
def receive(
    *, tenant, warehouse: Warehouse, lines: list[tuple[Product, int]], actor=None, reason=""
) -> list[StockMove]:
    """Add on-hand stock: one `receipt` movement per line."""
    if not lines:
        raise InvalidQuantity("A receipt needs at least one line.")
    for _, quantity in lines:
        _check_quantity(quantity)
    moves = []
    for product, quantity in sorted(lines, key=lambda pair: pair[0].pk):
        level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
        moves.append(_move(level=level, kind=MoveKind.RECEIPT, quantity=quantity, actor=actor, reason=reason))
    from oms.events import record_event

    record_event(
        tenant=tenant,
        kind="stock.received",
        payload={
            "warehouse": warehouse.code,
            "lines": [{"sku": p.sku, "product_id": p.pk, "quantity": q} for p, q in lines],
        },
    )
    return moves


@retry_on_conflict()
@transaction.atomic
def write_off(*, tenant, warehouse: Warehouse, product: Product, quantity: int, reason: str, actor=None) -> StockMove:
    """Remove damaged or lost units; reserved units cannot be written off."""
    _check_quantity(quantity)
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    if quantity > level.available:
        raise InsufficientStock(
            f"Only {level.available} unit(s) of {product.sku} are available in {warehouse.code} to write off.",
            details={"available": level.available},
        )
    return _move(level=level, kind=MoveKind.WRITE_OFF, quantity=-quantity, actor=actor, reason=reason)


@retry_on_conflict()
@transaction.atomic
def adjust(
    *, tenant, warehouse: Warehouse, product: Product, counted: int, reason: str, actor=None
) -> StockMove | None:
    """Set on-hand to a counted figure (stock-take); never below what is reserved. None when nothing changes."""
    _check_quantity(counted, allow_zero=True)
    if not reason.strip():
        raise InvalidQuantity("An adjustment needs a reason.")
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    if counted < level.reserved:
        raise InsufficientStock(
            f"{level.reserved} unit(s) are reserved; the count cannot be lower. Release reservations first.",
            details={"reserved": level.reserved},
        )
    delta = counted - level.on_hand
    if delta == 0:
        return None
    return _move(level=level, kind=MoveKind.ADJUSTMENT, quantity=delta, actor=actor, reason=reason)


# --- reservations ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    """Units of a product an order line still needs."""

    line_id: int
    product_id: int
    quantity: int


def reserve(*, tenant, demands: list[Demand], warehouse_ids: list[int] | None = None) -> dict[int, int]:
    """Reserve what stock allows for each demand, warehouses in order of preference; partial when short.

    Must run inside the caller's transaction. Returns units newly reserved per line id.
    """
    demands = [d for d in demands if d.quantity > 0]
    if not demands:
        return {}
    levels = locks.lock_levels_of_products(
        tenant=tenant, product_ids=[d.product_id for d in demands], warehouse_ids=warehouse_ids
    )
    by_product = defaultdict(list)
    for level in levels:
        if level.warehouse.is_active:
            by_product[level.product_id].append(level)
    preference = warehouse_ids or []
    reserved_now: dict[int, int] = defaultdict(int)
    for demand in demands:
        candidates = sorted(
            by_product[demand.product_id],
            key=lambda lv: (
                preference.index(lv.warehouse_id) if lv.warehouse_id in preference else len(preference),
                lv.warehouse.priority,
                lv.warehouse_id,
            ),
        )
        missing = demand.quantity
        for level in candidates:
            take = min(missing, level.available)
            if take <= 0:
                continue
            _hold(level=level, line_id=demand.line_id, quantity=take)
            reserved_now[demand.line_id] += take
            missing -= take
            if missing == 0:
                break
    return dict(reserved_now)


def _hold(*, level: StockLevel, line_id: int, quantity: int) -> None:
    StockLevel.objects.filter(pk=level.pk).update(reserved=F("reserved") + quantity)
    level.reserved += quantity
    updated = Reservation.objects.filter(
        tenant_id=level.tenant_id, line_id=line_id, warehouse_id=level.warehouse_id
    ).update(quantity=F("quantity") + quantity)
    if not updated:
        Reservation.objects.create(
            tenant_id=level.tenant_id,
            line_id=line_id,
            warehouse_id=level.warehouse_id,
            product_id=level.product_id,
            quantity=quantity,
        )


def _locked_reservations(*, tenant, line_ids) -> tuple[list[Reservation], dict[tuple[int, int], StockLevel]]:
    reservations = list(
        Reservation.objects.filter(tenant=tenant, line_id__in=list(line_ids)).order_by("product_id", "warehouse_id")
    )
    levels = locks.lock_levels_of_products(
        tenant=tenant,
        product_ids=[r.product_id for r in reservations],
        warehouse_ids=[r.warehouse_id for r in reservations],
    )
    return reservations, {(lv.product_id, lv.warehouse_id): lv for lv in levels}


def release(*, tenant, line_ids, quantity_by_line: dict[int, int] | None = None) -> dict[int, int]:
    """Give reserved units back (all, or up to `quantity_by_line[line]`). Runs in the caller's transaction.

    Returns units released per line id.
    """
    reservations, levels = _locked_reservations(tenant=tenant, line_ids=line_ids)
    remaining = dict(quantity_by_line) if quantity_by_line is not None else None
    released: dict[int, int] = defaultdict(int)
    for reservation in reservations:
        take = reservation.quantity
        if remaining is not None:
            take = min(take, remaining.get(reservation.line_id, 0))
            remaining[reservation.line_id] = remaining.get(reservation.line_id, 0) - take
        if take <= 0:
            continue
        level = levels[(reservation.product_id, reservation.warehouse_id)]
        StockLevel.objects.filter(pk=level.pk).update(reserved=F("reserved") - take)
        if take == reservation.quantity:
            reservation.delete()
        else:
            Reservation.objects.filter(pk=reservation.pk).update(quantity=F("quantity") - take)
        released[reservation.line_id] += take
    return dict(released)


def move_reservations(*, tenant, from_line_id: int, to_line_id: int, quantity: int) -> int:
    """Hand `quantity` reserved units from one line to another (a line divided by a split)."""
    moved = 0
    for reservation in Reservation.objects.filter(tenant=tenant, line_id=from_line_id).order_by("warehouse_id"):
        take = min(quantity - moved, reservation.quantity)
        if take <= 0:
            break
        if take == reservation.quantity:
            reservation.delete()
        else:
            Reservation.objects.filter(pk=reservation.pk).update(quantity=F("quantity") - take)
        Reservation.objects.create(
            tenant=tenant,
            line_id=to_line_id,
            warehouse_id=reservation.warehouse_id,
            product_id=reservation.product_id,
            quantity=take,
        )
        moved += take
    return moved


def consume(*, tenant, line_ids, actor=None) -> list[StockMove]:
    """Ship reserved units: on-hand and reserved both drop, one `shipment` movement each. Caller's transaction."""
    reservations, levels = _locked_reservations(tenant=tenant, line_ids=line_ids)
    moves = []
    for reservation in reservations:
        level = levels[(reservation.product_id, reservation.warehouse_id)]
        StockLevel.objects.filter(pk=level.pk).update(reserved=F("reserved") - reservation.quantity)
        moves.append(
            _move(
                level=level,
                kind=MoveKind.SHIPMENT,
                quantity=-reservation.quantity,
                actor=actor,
                reason="shipped",
                order_line_id=reservation.line_id,
            )
        )
        reservation.delete()
    return moves


def restock_return(
    *,
    tenant,
    warehouse: Warehouse,
    product: Product,
    quantity: int,
    actor=None,
    order_line_id=None,
    reason="returned parcel",
) -> StockMove:
    """Put returned units back on hand through the ledger. Caller's transaction."""
    _check_quantity(quantity)
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    return _move(
        level=level, kind=MoveKind.RETURN, quantity=quantity, actor=actor, reason=reason, order_line_id=order_line_id
    )

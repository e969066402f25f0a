"""Every write to the catalogue and stock. Stock counters change only inside row locks (see locks.py)."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext
from psycopg.types.numeric import Int8

from oms.db import broken_constraint, fetch_prepared, retry_on_conflict
from oms.errors import DomainError
from oms.event_catalogue import StockLine, StockReceived
from oms.events import record_event

from . import locks
from .errors import (
    DuplicateBarcode,
    DuplicateSku,
    DuplicateWarehouse,
    InsufficientStock,
    InvalidQuantity,
)
from .models import MoveKind, Product, Reservation, StockLevel, StockMove, Warehouse, WarehouseStaff

MAX_UNITS = 1_000_000
MAX_ON_HAND = 2_000_000_000  # the column is a 32-bit integer


def _check_quantity(quantity, *, allow_zero=False) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidQuantity(gettext("Quantity must be a whole number."))
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity(
            gettext("Quantity must be at least 1.") if not allow_zero else gettext("Quantity cannot be negative.")
        )
    if quantity > MAX_UNITS:
        raise InvalidQuantity(gettext("Quantity must be at most %(max_units)s.") % {"max_units": f"{MAX_UNITS:,}"})
    return quantity


# --- catalogue ---------------------------------------------------------------------------------------------

MAX_PRICE = Decimal("9999999999.99")


def _check_product_fields(*, name: str, price) -> None:
    if not (name or "").strip():
        raise DomainError(gettext("A product needs a name."), details={"field": "name"})
    if len(name.strip()) > 255:
        raise DomainError(gettext("A product name can have at most 255 characters."), details={"field": "name"})
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise DomainError(
            gettext("Price must be an amount from 0 to %(max_price)s.") % {"max_price": f"{MAX_PRICE:,}"},
            details={"field": "price"},
        )
    if price != price.quantize(Decimal("0.01")):
        raise DomainError(gettext("Price can have at most two decimal places."), details={"field": "price"})


def _duplicate_from(exc: IntegrityError, *, sku: str, barcode: str) -> DomainError:
    """The duplicate a concurrent write caused, by the constraint it broke; any other violation is re-raised."""
    constraint = broken_constraint(exc)
    if constraint == "product_unique_barcode":
        return DuplicateBarcode(
            gettext("Barcode '%(barcode)s' is already used by another product.") % {"barcode": barcode},
            details={"barcode": barcode},
        )
    if constraint == "product_unique_sku":
        return DuplicateSku(
            gettext("A product with SKU '%(sku)s' already exists.") % {"sku": sku}, details={"sku": sku}
        )
    raise exc


def _check_category_and_cost(category: str, cost_price) -> str:
    category = " ".join((category or "").split())
    if len(category) > 100:
        raise DomainError(gettext("A category can have at most 100 characters."), details={"field": "category"})
    if cost_price is not None and not (Decimal("0") <= cost_price <= MAX_PRICE):
        raise DomainError(
            gettext("Cost price must be from 0 to %(max_price)s.") % {"max_price": f"{MAX_PRICE:,}"},
            details={"field": "cost_price"},
        )
    return category


def create_product(
    *, tenant, sku: str, name: str, price: Decimal, barcode: str = "", category: str = "", cost_price=None
) -> Product:
    """A product of the tenant; SKU and (non-empty) barcode are unique per tenant."""
    sku, barcode = (sku or "").strip(), (barcode or "").strip()
    if not sku or len(sku) > 64 or any(ch.isspace() for ch in sku):
        raise DomainError(gettext("SKU must be 1 to 64 characters without spaces."), details={"field": "sku"})
    if len(barcode) > 64:
        raise DomainError(gettext("A barcode can have at most 64 characters."), details={"field": "barcode"})
    _check_product_fields(name=name, price=price)
    category = _check_category_and_cost(category, cost_price)
    if Product.objects.filter(tenant=tenant, sku=sku).exists():
        raise DuplicateSku(gettext("A product with SKU '%(sku)s' already exists.") % {"sku": sku}, details={"sku": sku})
    if barcode and Product.objects.filter(tenant=tenant, barcode=barcode).exists():
        raise DuplicateBarcode(
            gettext("Barcode '%(barcode)s' is already used by another product.") % {"barcode": barcode},
            details={"barcode": barcode},
        )
    try:
        with transaction.atomic():
            return Product.objects.create(
                tenant=tenant,
                sku=sku,
                name=name.strip(),
                price=price,
                barcode=barcode,
                category=category,
                cost_price=cost_price,
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise _duplicate_from(exc, sku=sku, barcode=barcode) from exc


def update_product(
    *,
    product: Product,
    name: str,
    price: Decimal,
    barcode: str,
    is_active: bool,
    category: str | None = None,
    cost_price=...,
) -> Product:
    """Change what a product is called, costs and scans as; the SKU never changes (orders refer to it). Category
    and cost price stay as they are unless given."""
    barcode = (barcode or "").strip()
    category = product.category if category is None else category
    cost_price = product.cost_price if cost_price is ... else cost_price
    category = _check_category_and_cost(category, cost_price)
    if len(barcode) > 64:
        raise DomainError(gettext("A barcode can have at most 64 characters."), details={"field": "barcode"})
    _check_product_fields(name=name, price=price)
    if barcode and Product.objects.filter(tenant=product.tenant_id, barcode=barcode).exclude(pk=product.pk).exists():
        raise DuplicateBarcode(
            gettext("Barcode '%(barcode)s' is already used by another product.") % {"barcode": barcode},
            details={"barcode": barcode},
        )
    product.name, product.price, product.barcode, product.is_active = name.strip(), price, barcode, is_active
    product.category, product.cost_price = category, cost_price
    try:
        with transaction.atomic():
            product.save(update_fields=["name", "price", "barcode", "is_active", "category", "cost_price"])
    except IntegrityError as exc:
        raise _duplicate_from(exc, sku=product.sku, barcode=barcode) from exc
    return product


def _check_warehouse_fields(*, name: str, priority: int) -> None:
    if not (name or "").strip() or len(name.strip()) > 200:
        raise DomainError(gettext("A warehouse needs a name of at most 200 characters."), details={"field": "name"})
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1_000_000:
        raise DomainError(
            gettext("Priority must be a whole number from 0 to 1,000,000."), details={"field": "priority"}
        )


def create_warehouse(*, tenant, code: str, name: str, priority: int = 100) -> Warehouse:
    """A warehouse of the tenant; codes are unique per tenant."""
    code = (code or "").strip()
    if not code or len(code) > 32 or any(ch.isspace() for ch in code):
        raise DomainError(gettext("Code must be 1 to 32 characters without spaces."), details={"field": "code"})
    _check_warehouse_fields(name=name, priority=priority)
    if Warehouse.objects.filter(tenant=tenant, code=code).exists():
        raise DuplicateWarehouse(
            gettext("A warehouse with code '%(code)s' already exists.") % {"code": code}, details={"code": code}
        )
    try:
        with transaction.atomic():
            return Warehouse.objects.create(tenant=tenant, code=code, name=name.strip(), priority=priority)
    except IntegrityError as exc:
        if broken_constraint(exc) != "warehouse_unique_code":
            raise
        raise DuplicateWarehouse(
            gettext("A warehouse with code '%(code)s' already exists.") % {"code": code}, details={"code": code}
        ) from exc


def update_warehouse(*, warehouse: Warehouse, name: str, priority: int, is_active: bool) -> Warehouse:
    """Rename, reorder or switch off a warehouse; its code never changes (the API and imports use it)."""
    _check_warehouse_fields(name=name, priority=priority)
    warehouse.name, warehouse.priority, warehouse.is_active = name.strip(), priority, is_active
    warehouse.save(update_fields=["name", "priority", "is_active"])
    return warehouse


# --- ledger ------------------------------------------------------------------------------------------------


def _check_tenant(tenant, *objects) -> None:
    """Guard against a caller mixing tenants: every object must belong to `tenant`."""
    tenant_id = getattr(tenant, "pk", tenant)
    if any(obj.tenant_id != tenant_id for obj in objects):
        raise DomainError(gettext("That product or warehouse does not belong to this shop."))


def _move(
    *,
    level: StockLevel,
    kind: str,
    quantity: int,
    actor,
    reason: str,
    order_line_id=None,
    purchase_order=None,
    transfer=None,
) -> StockMove:
    if level.on_hand + quantity > MAX_ON_HAND:
        raise InvalidQuantity(
            gettext("On-hand stock cannot exceed %(max_on_hand)s units.") % {"max_on_hand": f"{MAX_ON_HAND:,}"}
        )
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
        purchase_order=purchase_order,
        transfer=transfer,
    )


@retry_on_conflict()
@transaction.atomic
def receive(
    *,
    tenant,
    warehouse: Warehouse,
    lines: list[tuple[Product, int]],
    actor=None,
    reason="",
    purchase_order=None,
    transfer=None,
) -> list[StockMove]:
    """Add on-hand stock: one `receipt` movement per line (`transfer-in` when it arrives on a transfer)."""
    if not lines:
        raise InvalidQuantity(gettext("A receipt needs at least one line."))
    for product, quantity in lines:
        _check_quantity(quantity)
        _check_tenant(tenant, product, warehouse)
    moves = []
    for product, quantity in sorted(lines, key=lambda pair: pair[0].pk):
        level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
        moves.append(
            _move(
                level=level,
                kind=MoveKind.RECEIPT if transfer is None else MoveKind.TRANSFER_IN,
                quantity=quantity,
                actor=actor,
                reason=reason,
                purchase_order=purchase_order,
                transfer=transfer,
            )
        )
    record_event(
        tenant=tenant,
        event=StockReceived(
            warehouse=warehouse.code,
            lines=[StockLine(sku=p.sku, product_id=p.pk, quantity=q) for p, q in lines],
        ),
    )
    return moves


def send_away(*, tenant, warehouse: Warehouse, lines: list[tuple[Product, int]], transfer, actor=None) -> None:
    """Units leave `warehouse` on a transfer: one `transfer-out` movement per line; only what is available (not
    reserved) can go. Caller's transaction."""
    for product, quantity in sorted(lines, key=lambda pair: pair[0].pk):
        _check_quantity(quantity)
        _check_tenant(tenant, product, warehouse)
        level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
        if quantity > level.available:
            raise InsufficientStock(
                gettext("Only %(available)s unit(s) of %(sku)s are available in %(code)s to send.")
                % {"available": level.available, "sku": product.sku, "code": warehouse.code},
                details={"sku": product.sku, "available": level.available},
            )
        _move(
            level=level,
            kind=MoveKind.TRANSFER_OUT,
            quantity=-quantity,
            actor=actor,
            reason=f"Transfer {transfer.number}",
            transfer=transfer,
        )


@retry_on_conflict()
@transaction.atomic
def write_off(*, tenant, warehouse: Warehouse, product: Product, quantity: int, reason: str, actor=None) -> StockMove:
    """Remove damaged or lost units; reserved units cannot be written off."""
    _check_quantity(quantity)
    _check_tenant(tenant, product, warehouse)
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    if quantity > level.available:
        raise InsufficientStock(
            gettext("Only %(available)s unit(s) of %(sku)s are available in %(code)s to write off.")
            % {"available": level.available, "sku": product.sku, "code": warehouse.code},
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
        raise InvalidQuantity(gettext("An adjustment needs a reason."))
    _check_tenant(tenant, product, warehouse)
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    if counted < level.reserved:
        raise InsufficientStock(
            gettext("%(reserved)s unit(s) are reserved; the count cannot be lower. Release reservations first.")
            % {"reserved": level.reserved},
            details={"reserved": level.reserved},
        )
    delta = counted - level.on_hand
    if delta == 0:
        return None
    return _move(level=level, kind=MoveKind.ADJUSTMENT, quantity=delta, actor=actor, reason=reason)


# --- reservations ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    """Units of a product an order line still needs (`product_id` is the line's product)."""

    line_id: int
    product_id: int
    quantity: int


def _array_literal(numbers) -> str:
    """'{1,2,3}': whole numbers only (int() refuses anything else); a tenth of the cost of adapting a list."""
    return "{" + ",".join(str(int(n)) for n in numbers) + "}"


def reserve(*, tenant, demands: list[Demand], warehouse_ids: list[int] | None = None) -> dict[int, int]:
    """Reserve what stock allows for each demand, warehouses in order of preference; partial when short.

    Demands are served in the order given; a product's warehouses in the order of `warehouse_ids` (when given,
    only those), then by priority. Inactive warehouses are skipped. Never reserves more than on hand minus
    reserved, whatever the concurrency. Returns units newly reserved per line id.

    The rule is the database function `inventory_reserve`, kept in inventory/sql/reserve.sql: lock, allocate and
    hold are one statement (it was a SELECT FOR UPDATE and three writes, see bench/reserve.py), whatever the number
    of demands. Inside the caller's transaction it joins it; called on its own it is one round trip and its own
    transaction, so a hot SKU's row stays locked only while the database works on it.
    """
    demands = [d for d in demands if d.quantity > 0]
    if not demands:
        return {}
    rows = fetch_prepared(
        _RESERVE_SQL,
        [
            Int8(int(getattr(tenant, "pk", tenant))),
            _array_literal(d.line_id for d in demands),
            _array_literal(d.product_id for d in demands),
            _array_literal(d.quantity for d in demands),
            None if warehouse_ids is None else _array_literal(warehouse_ids),
        ],
    )
    return {line_id: units for line_id, units in rows if units}


# Prepared (oms.db.fetch_prepared): planning even the call costs more than the client's side of running it. Typed
# as the function's arguments, so a session prepares one statement whatever the values.
_RESERVE_SQL = (
    "SELECT line_id, quantity FROM inventory_reserve(%s, %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
)


def _locked_reservations(*, tenant, line_ids) -> tuple[list[Reservation], dict[tuple[int, int], StockLevel]]:
    """The lines' reservations, read under the locks of their stock levels (whoever changes them holds those)."""
    where = Reservation.objects.filter(tenant=tenant, line_id__in=list(line_ids))
    pairs = set(where.values_list("product_id", "warehouse_id"))
    while True:
        levels = {
            (lv.product_id, lv.warehouse_id): lv
            for lv in locks.lock_levels_of_products(
                tenant=tenant,
                product_ids=[product_id for product_id, _ in pairs],
                warehouse_ids=[warehouse_id for _, warehouse_id in pairs],
            )
        }
        reservations = list(where.order_by("product_id", "warehouse_id", "line_id"))
        seen = {(r.product_id, r.warehouse_id) for r in reservations}
        if seen <= levels.keys():
            return reservations, levels
        pairs |= seen  # reserved elsewhere meanwhile: lock those levels too


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


def forget_lines(*, tenant, line_ids) -> dict[int, int]:
    """Order lines about to be deleted: their reservations are released, and ledger movements keep no reference to
    them (inventory holds line ids without a foreign key). Caller's transaction. Returns units released per line."""
    released = release(tenant=tenant, line_ids=line_ids)
    StockMove.objects.filter(tenant=tenant, order_line_id__in=list(line_ids)).update(order_line_id=None)
    return released


def consume(*, tenant, line_ids, actor=None) -> list[StockMove]:
    """Ship reserved units: on-hand and reserved both drop, one `shipment` movement each. Caller's transaction."""
    return _take_reserved(tenant=tenant, line_ids=line_ids, kind=MoveKind.SHIPMENT, reason="shipped", actor=actor)


def write_off_reserved(*, tenant, line_ids, reason: str, actor=None) -> list[StockMove]:
    """Reserved units that will never come back (a parcel lost on the way): on-hand and reserved both drop, one
    `write-off` movement each. Caller's transaction."""
    return _take_reserved(tenant=tenant, line_ids=line_ids, kind=MoveKind.WRITE_OFF, reason=reason, actor=actor)


def _take_reserved(*, tenant, line_ids, kind: str, reason: str, actor) -> list[StockMove]:
    reservations, levels = _locked_reservations(tenant=tenant, line_ids=line_ids)
    moves = []
    for reservation in reservations:
        level = levels[(reservation.product_id, reservation.warehouse_id)]
        StockLevel.objects.filter(pk=level.pk).update(reserved=F("reserved") - reservation.quantity)
        reservation.delete()  # before the movement: the line's `reserved` counts a held unit once, not twice
        moves.append(
            _move(
                level=level,
                kind=kind,
                quantity=-reservation.quantity,
                actor=actor,
                reason=reason,
                order_line_id=reservation.line_id,
            )
        )
    return moves


def holds_reservations(*, tenant, line_ids) -> bool:
    return Reservation.objects.filter(tenant=tenant, line_id__in=list(line_ids)).exists()


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
    _check_tenant(tenant, product, warehouse)
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    return _move(
        level=level, kind=MoveKind.RETURN, quantity=quantity, actor=actor, reason=reason, order_line_id=order_line_id
    )


def _packer_limits():
    """The rows that limit someone: a packer's. A packer moved to another role keeps their rows (the warehouse screen
    offers packers only, so none could clear them) but works everywhere, as every other role does."""
    from django.db.models import Exists, OuterRef

    from oms.models import Membership, Role

    packer = Membership.objects.filter(tenant_id=OuterRef("tenant_id"), user_id=OuterRef("user_id"), role=Role.PACKER)
    return WarehouseStaff.objects.filter(Exists(packer))


def warehouses_of(*, tenant, user) -> set[int] | None:
    """The warehouses a person is limited to; None when they work at every warehouse."""
    ids = set(_packer_limits().filter(tenant=tenant, user=user).values_list("warehouse_id", flat=True))
    return ids or None


def warehouses_of_annotation(*, user):
    """`warehouses_of` as an annotation of a query on a shop's row (an array, empty for every warehouse), so a hot
    path reads it with that row instead of asking again."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef

    staff = _packer_limits().filter(tenant_id=OuterRef("tenant_id"), user_id=user.pk)
    return ArraySubquery(staff.values("warehouse_id"))


@transaction.atomic
def set_warehouse_staff(*, warehouse: Warehouse, user_ids) -> list[int]:
    """Who works at this warehouse (packers of the shop only); replaces the previous list."""
    from oms.models import Membership, Role

    packers = set(
        Membership.objects.filter(
            tenant_id=warehouse.tenant_id,
            role=Role.PACKER,
            # an id too long to be anyone's is no packer (and int() refuses 4,300+ digits)
            user_id__in=[int(u) for u in user_ids if len(str(u)) < 19],
        ).values_list("user_id", flat=True)
    )
    if len(packers) != len(set(user_ids)):
        raise InvalidQuantity(gettext("Choose packers of this shop only."), field="packers")
    WarehouseStaff.objects.filter(tenant_id=warehouse.tenant_id, warehouse=warehouse).exclude(
        user_id__in=packers
    ).delete()
    WarehouseStaff.objects.bulk_create(
        [WarehouseStaff(tenant_id=warehouse.tenant_id, warehouse=warehouse, user_id=u) for u in sorted(packers)],
        ignore_conflicts=True,
    )
    return sorted(packers)


def order_warehouses(*, tenant, line_ids) -> set[int]:
    """The warehouses holding an order's reserved units."""
    return set(
        Reservation.objects.filter(tenant=tenant, line_id__in=list(line_ids)).values_list("warehouse_id", flat=True)
    )


def check_arrival(*, number: str, lines: list[tuple[str, int]], locked_lines, still: str) -> tuple[dict, dict]:
    """What arrived on a document (purchase order, transfer) against its locked lines: (units by SKU, line by SKU).
    Refused: nothing, a quantity under 1, a SKU not on the document, more than is still `still` ("expected")."""
    if not lines:
        raise InvalidQuantity(gettext("Say what arrived: at least one line."), field="lines")
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        if not isinstance(quantity, int) or quantity < 1:
            raise InvalidQuantity(gettext("Quantity of %(sku)s must be at least 1.") % {"sku": sku}, field="lines")
        wanted[sku] = wanted.get(sku, 0) + quantity
    by_sku = {line.product.sku: line for line in locked_lines}
    absent = sorted(set(wanted) - by_sku.keys())
    if absent:
        raise InvalidQuantity(
            gettext("Not on %(number)s: %(absent)s.") % {"number": number, "absent": ", ".join(absent)},
            field="lines",
            details={"skus": absent},
        )
    too_many = {sku: by_sku[sku].outstanding for sku, qty in wanted.items() if qty > by_sku[sku].outstanding}
    if too_many:
        text = ", ".join(
            gettext("%(sku)s (%(left)s still %(still)s)") % {"sku": sku, "left": left, "still": still}
            for sku, left in sorted(too_many.items())
        )
        raise InvalidQuantity(
            gettext("More than is still %(still)s: %(text)s.") % {"still": still, "text": text},
            field="lines",
            details={"outstanding": too_many},
        )
    return wanted, by_sku


def product_on(*, document, code: str) -> Product:
    """The scanned product (barcode or SKU) if it is on the document's lines; refused otherwise."""
    code = (code or "").strip()
    product = (
        Product.objects.filter(tenant=document.tenant, barcode=code).first()
        or Product.objects.filter(tenant=document.tenant, sku=code).first()
    )
    if product is None or not document.lines.filter(product=product).exists():
        raise InvalidQuantity(
            gettext("'%(code)s' is not on %(number)s.") % {"code": code[:64], "number": document.number}, field="code"
        )
    return product

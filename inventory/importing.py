"""CSV import of products and opening stock: check every row first (the preview), then write all or nothing.

Columns: sku, name, price, barcode (optional), warehouse and quantity (optional, together). A SKU may appear on
several rows to put stock into several warehouses, as long as its name, price and barcode agree. Existing
products (by SKU) are updated; an empty barcode cell keeps the product's barcode. Stock is added with one
`receipt` movement per row through `services.receive`.
"""

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from . import locks, services
from .models import Product, Warehouse
from .services import MAX_PRICE, MAX_UNITS

REQUIRED_COLUMNS = ("sku", "name", "price")
OPTIONAL_COLUMNS = ("barcode", "warehouse", "quantity")
MAX_ROWS = 10_000


@dataclass
class Row:
    line: int
    sku: str = ""
    name: str = ""
    price: Decimal | None = None
    barcode: str = ""
    warehouse: str = ""
    quantity: int | None = None
    action: str = ""  # create, update or unchanged
    errors: list[str] = field(default_factory=list)


@dataclass
class Preview:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # about the whole file

    @property
    def error_rows(self) -> list[Row]:
        return [row for row in self.rows if row.errors]

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.errors and not self.error_rows

    @property
    def products(self) -> list[Row]:
        """The first row of each SKU: what the product will look like."""
        seen, firsts = set(), []
        for row in self.rows:
            if row.sku not in seen:
                seen.add(row.sku)
                firsts.append(row)
        return firsts

    @property
    def summary(self) -> dict[str, int]:
        actions = [row.action for row in self.products]
        stocked = [row for row in self.rows if row.quantity]
        return {
            "rows": len(self.rows),
            "create": actions.count("create"),
            "update": actions.count("update"),
            "unchanged": actions.count("unchanged"),
            "receipts": len(stocked),
            "units": sum(row.quantity for row in stocked),
        }


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read(text: str, preview: Preview) -> list[Row]:
    first_line = text[:4096].partition("\n")[0]
    # Spreadsheets set to a comma as decimal mark save with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        preview.errors.append(f"The file cannot be read as CSV: {exc}.")
        return []
    if not header or not any(cell.strip() for cell in header):
        preview.errors.append("The file is empty. The first line must name the columns: sku, name, price, ….")
        return []
    columns = [cell.strip().lower() for cell in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if missing:
        preview.errors.append(f"Missing column(s): {', '.join(missing)}. The first line must name the columns.")
    if unknown:
        allowed = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        preview.errors.append(f"Unknown column(s): {', '.join(unknown)}. Allowed: {allowed}.")
    if doubled:
        preview.errors.append(f"Column(s) named twice: {', '.join(doubled)}.")
    if ("warehouse" in columns) != ("quantity" in columns):
        preview.errors.append("Give the columns warehouse and quantity together, or neither.")
    if preview.errors:
        return []
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                preview.errors.append(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
                return []
            row = Row(line=line)
            rows.append(row)
            if len(values) != len(columns):
                row.errors.append(f"Has {len(values)} value(s); the header names {len(columns)} column(s).")
                continue
            _parse_row(row, dict(zip(columns, (v.strip() for v in values), strict=True)))
    except csv.Error as exc:
        preview.errors.append(f"Line {reader.line_num} cannot be read as CSV: {exc}.")
        return []
    if not rows:
        preview.errors.append("The file has a header but no rows.")
    return rows


def _parse_row(row: Row, cells: dict[str, str]) -> None:
    row.sku, row.name, row.barcode = cells["sku"], cells["name"], cells.get("barcode", "")
    row.warehouse = cells.get("warehouse", "")
    if not row.sku:
        row.errors.append("SKU is missing.")
    elif len(row.sku) > 64 or any(ch.isspace() for ch in row.sku):
        row.errors.append("SKU must be 1 to 64 characters without spaces.")
    if not row.name:
        row.errors.append("Name is missing.")
    elif len(row.name) > 255:
        row.errors.append("Name is longer than 255 characters.")
    if len(row.barcode) > 64 or any(ch.isspace() for ch in row.barcode):
        row.errors.append("Barcode must be at most 64 characters without spaces.")
    try:
        price = Decimal(cells["price"])
        if not price.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        row.errors.append(
            f"Price “{cells['price']}” is not an amount like 19.90." if cells["price"] else "Price is missing."
        )
    else:
        if price < 0:
            row.errors.append("Price cannot be negative.")
        elif price > MAX_PRICE:
            row.errors.append("Price is too large.")
        elif price != price.quantize(Decimal("0.01")):
            row.errors.append("Price can have at most two decimal places.")
        else:
            row.price = price.quantize(Decimal("0.01"))
    quantity = cells.get("quantity", "")
    if quantity:
        try:
            row.quantity = int(quantity)
        except ValueError:
            row.errors.append(f"Quantity “{quantity}” is not a whole number.")
        else:
            if row.quantity < 0:
                row.errors.append("Quantity cannot be negative.")
            elif row.quantity > MAX_UNITS:
                row.errors.append(f"Quantity is more than {MAX_UNITS:,}.")
    if bool(row.warehouse) != bool(quantity):
        row.errors.append("Give a warehouse and a quantity together, or leave both empty.")


def _check_against_shop(tenant, rows: list[Row]) -> None:
    skus = {row.sku for row in rows if row.sku}
    existing = {p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in=skus)}
    barcodes = {row.barcode for row in rows if row.barcode}
    barcode_owner = dict(Product.objects.filter(tenant=tenant, barcode__in=barcodes).values_list("barcode", "sku"))
    warehouses = {w.code: w for w in Warehouse.objects.filter(tenant=tenant)}

    first_of_sku: dict[str, Row] = {}
    first_of_barcode: dict[str, Row] = {}
    for row in rows:
        if row.warehouse:
            warehouse = warehouses.get(row.warehouse)
            if warehouse is None:
                row.errors.append(f"Unknown warehouse “{row.warehouse}”.")
            elif not warehouse.is_active:
                row.errors.append(f"Warehouse “{row.warehouse}” is switched off.")
        if not row.sku:
            continue
        first = first_of_sku.setdefault(row.sku, row)
        if first is not row:
            if (row.name, row.price, row.barcode) != (first.name, first.price, first.barcode):
                row.errors.append(f"SKU {row.sku} has other name, price or barcode on line {first.line}.")
            row.action = first.action
            continue
        if row.barcode:
            other = first_of_barcode.setdefault(row.barcode, row)
            if other is not row:
                row.errors.append(f"Barcode {row.barcode} is also given to SKU {other.sku} on line {other.line}.")
            elif barcode_owner.get(row.barcode, row.sku) != row.sku:
                row.errors.append(f"Barcode {row.barcode} is already used by product {barcode_owner[row.barcode]}.")
        product = existing.get(row.sku)
        if product is None:
            row.action = "create"
        elif (product.name, product.price, product.barcode) == (row.name, row.price, row.barcode or product.barcode):
            row.action = "unchanged"
        else:
            row.action = "update"


def preview(*, tenant, text: str) -> Preview:
    """Every problem of the file, per row, without writing anything."""
    result = Preview()
    result.rows = _read(text, result)
    if result.rows:
        _check_against_shop(tenant, result.rows)
    return result


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    receipts: int = 0
    units: int = 0


@transaction.atomic
def apply(*, tenant, text: str, actor=None, source: str = "CSV import") -> tuple[Preview, ImportResult | None]:
    """Check the file again against the shop as it is now and, when every row is fine, write it all.

    One transaction: products are created or updated and stock received through the services; any refusal
    rolls everything back.
    """
    checked = preview(tenant=tenant, text=text)
    if not checked.is_valid:
        return checked, None
    result = ImportResult()
    products: dict[str, Product] = {
        p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in={row.sku for row in checked.rows})
    }
    for row in checked.products:
        product = products.get(row.sku)
        if product is None:
            products[row.sku] = services.create_product(
                tenant=tenant, sku=row.sku, name=row.name, price=row.price, barcode=row.barcode
            )
            result.created += 1
        elif row.action == "update":
            services.update_product(
                product=product,
                name=row.name,
                price=row.price,
                barcode=row.barcode or product.barcode,
                is_active=product.is_active,
            )
            result.updated += 1
    warehouses = {w.code: w for w in Warehouse.objects.filter(tenant=tenant)}
    by_warehouse: dict[str, list[tuple[Product, int]]] = defaultdict(list)
    for row in checked.rows:
        if row.quantity:
            by_warehouse[row.warehouse].append((products[row.sku], row.quantity))
    # Stock levels are locked by (product, warehouse) everywhere: take them so before receiving warehouse by warehouse.
    wanted = {
        (product.pk, warehouses[code].pk): (product, warehouses[code])
        for code, lines in by_warehouse.items()
        for product, _ in lines
    }
    for key in sorted(wanted):
        locks.lock_level(tenant=tenant, product=wanted[key][0], warehouse=wanted[key][1])
    for code, lines in sorted(by_warehouse.items()):
        services.receive(tenant=tenant, warehouse=warehouses[code], lines=lines, actor=actor, reason=source[:255])
        result.receipts += len(lines)
        result.units += sum(quantity for _, quantity in lines)
    return checked, result

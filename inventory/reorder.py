"""Reorder points: per product and warehouse a minimum and a reorder quantity. A sweep raises `stock.low` once per
dip below the minimum (automation alerts the shop's buyer: the ready-made trigger, or one of the shop's own); the
"to reorder" screen lists what is short, counting what waiting orders still need and what is already on its way.

What orders need is told by a higher app (`register_demand`): inventory knows no order table.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from oms.event_catalogue import StockLow
from oms.events import record_events

from . import locks
from .errors import InvalidQuantity
from .models import StockLevel
from .purchasing import incoming_to_warehouses
from .transfers import in_transit_to_warehouses

MAX_UNITS = 1_000_000
_demand: list[Callable] = []


def register_demand(units_needed: Callable) -> None:
    """`units_needed(tenant, product_ids) -> {product_id: units}`: units that open orders want and do not hold."""
    _demand.append(units_needed)


def units_needed(tenant, product_ids) -> dict[int, int]:
    total: dict[int, int] = {}
    for source in _demand:
        for product_id, units in source(tenant, product_ids).items():
            total[product_id] = total.get(product_id, 0) + units
    return total


@transaction.atomic
def set_reorder_point(*, tenant, product, warehouse, minimum: int | None, quantity: int | None) -> StockLevel:
    """Set (or, with None, clear) the minimum and the reorder quantity of one product in one warehouse."""
    for label, value in (("Minimum", minimum), ("Reorder quantity", quantity)):
        if value is not None and not (0 <= value <= MAX_UNITS):
            raise InvalidQuantity(
                gettext("%(label)s must be a whole number from 0 to %(max_units)s.")
                % {"label": label, "max_units": f"{MAX_UNITS:,}"}
            )
    if quantity is not None and minimum is None:
        raise InvalidQuantity(
            gettext("Set a minimum first: the reorder quantity is what to order when stock falls below it.")
        )
    level = locks.lock_level(tenant=tenant, product=product, warehouse=warehouse)
    level.reorder_point, level.reorder_quantity = minimum, quantity if minimum is not None else None
    if minimum is None or level.available >= minimum:
        level.low_since = None  # a new minimum starts a new watch
    level.save(update_fields=["reorder_point", "reorder_quantity", "low_since"])
    return level


def sweep_low_stock(*, tenant, now=None) -> int:
    """Raise `stock.low` for each level that fell below its minimum since the last sweep (once per dip); a level
    back at or above its minimum is watched again. Returns how many were raised."""
    now = now or timezone.now()
    watched = StockLevel.objects.filter(tenant=tenant, reorder_point__isnull=False)
    with transaction.atomic():
        watched.filter(low_since__isnull=False, on_hand__gte=F("reserved") + F("reorder_point")).update(low_since=None)
        fallen = [
            level
            for level in watched.filter(
                low_since__isnull=True, on_hand__lt=F("reserved") + F("reorder_point")
            ).select_related("product", "warehouse")
            # Marked one by one, only if still unmarked: a sweep running alongside raises none of them twice.
            if StockLevel.objects.filter(pk=level.pk, low_since__isnull=True).update(low_since=now)
        ]
        if not fallen:
            return 0
        record_events(
            events=[
                (
                    tenant.pk,
                    StockLow(
                        warehouse=level.warehouse.code,
                        sku=level.product.sku,
                        product_id=level.product_id,
                        available=level.available,
                        reorder_point=level.reorder_point,
                        reorder_quantity=level.reorder_quantity,
                    ),
                )
                for level in fallen
            ]
        )
    return len(fallen)


@dataclass
class ReorderRow:
    level: StockLevel
    needed: int  # units waiting orders want and do not hold
    coming: int  # units on open purchase orders and transfers
    suggested: int

    @property
    def short_by(self) -> int:
        return self.level.reorder_point - (self.level.available - self.needed + self.coming)


def to_reorder(*, tenant, warehouse=None) -> list[ReorderRow]:
    """Levels whose available units, less what waiting orders need, plus what is on its way to that warehouse, are
    under their minimum; with the quantity to order (the reorder quantity, or at least what brings them back to the
    minimum). What waiting orders need is counted once per product: against the warehouses in the order reservation
    takes from them (priority), as far as their available units go, and the rest against the first of them.
    A switched-off warehouse is left out: nothing is bought for it (purchase orders go to active warehouses)."""
    levels = StockLevel.objects.filter(
        tenant=tenant, reorder_point__isnull=False, product__is_active=True, warehouse__is_active=True
    ).select_related("product", "warehouse")
    levels = list(levels.order_by("warehouse__priority", "warehouse_id"))
    product_ids = {level.product_id for level in levels}
    needed = _needed_per_level(levels, units_needed(tenant, product_ids))
    coming = incoming_to_warehouses(tenant=tenant, product_ids=product_ids)
    for key, units in in_transit_to_warehouses(tenant=tenant, product_ids=product_ids).items():
        coming[key] = coming.get(key, 0) + units
    rows = []
    for level in sorted(levels, key=lambda level: (level.warehouse.code, level.product.sku)):
        if warehouse is not None and level.warehouse_id != warehouse.pk:
            continue
        row = ReorderRow(
            level=level,
            needed=needed.get(level.pk, 0),
            coming=coming.get((level.product_id, level.warehouse_id), 0),
            suggested=0,
        )
        if row.short_by > 0:
            row.suggested = max(level.reorder_quantity or 0, row.short_by)
            rows.append(row)
    return rows


def _needed_per_level(levels: list[StockLevel], needed: dict[int, int]) -> dict[int, int]:
    """{level id: units of the product's waiting demand charged to it}; `levels` in reservation order (those of
    switched-off warehouses are charged nothing)."""
    left = dict(needed)
    charged: dict[int, int] = {}
    first: dict[int, StockLevel] = {}
    for level in levels:
        if not level.warehouse.is_active:  # reservation skips it: its units serve no waiting order
            continue
        first.setdefault(level.product_id, level)
        taken = min(left.get(level.product_id, 0), max(level.available, 0))
        if taken:
            charged[level.pk] = taken
            left[level.product_id] -= taken
    for product_id, units in left.items():
        if units > 0 and product_id in first:
            pk = first[product_id].pk
            charged[pk] = charged.get(pk, 0) + units
    return charged

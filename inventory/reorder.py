"""Reorder points: per product and warehouse a minimum and a reorder quantity. A sweep raises `stock.low` once per
dip below the minimum (automation alerts the shop's buyer: the ready-made trigger, or one of the shop's own); the
"to reorder" screen lists what is short, counting what waiting orders still need and what is already on its way.

What orders need is told by a higher app (`register_demand`): inventory knows no order table.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from oms.event_catalogue import StockLow
from oms.events import record_events

from . import locks
from .errors import InvalidQuantity
from .models import StockLevel
from .purchasing import incoming
from .transfers import in_transit

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
    """Levels whose available units, less what waiting orders need, plus what is on its way, are under their
    minimum; with the quantity to order (the reorder quantity, or at least what brings them back to the minimum)."""
    levels = StockLevel.objects.filter(tenant=tenant, reorder_point__isnull=False).select_related(
        "product", "warehouse"
    )
    if warehouse is not None:
        levels = levels.filter(warehouse=warehouse)
    levels = list(levels.filter(Q(product__is_active=True)).order_by("warehouse__code", "product__sku"))
    product_ids = {level.product_id for level in levels}
    needed = units_needed(tenant, product_ids)
    on_order = {
        product_id: units for product_id, (units, _) in incoming(tenant=tenant, product_ids=product_ids).items()
    }
    travelling = in_transit(tenant=tenant, product_ids=product_ids)
    rows = []
    for level in levels:
        coming = on_order.get(level.product_id, 0) + travelling.get(level.product_id, 0)
        row = ReorderRow(level=level, needed=needed.get(level.product_id, 0), coming=coming, suggested=0)
        if row.short_by > 0:
            row.suggested = max(level.reorder_quantity or 0, row.short_by)
            rows.append(row)
    return rows

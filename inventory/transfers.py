"""Transfers between warehouses: goods leave the source when the transfer is made, travel where neither
warehouse can sell them, and arrive by scan or form at the destination. Both ends are in the ledger.

Receiving locks the transfer row, then its lines, then stock levels (services.receive), so two people receiving
the same delivery can never book more than was sent.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from oms.errors import Conflict

from . import locks, services
from .errors import InvalidQuantity, UnknownProduct, UnknownWarehouse
from .models import Product, Transfer, TransferLine, TransferState, Warehouse
from .purchasing import check_expected

MAX_LINES = 1000


class TransferClosed(Conflict):
    code = "transfer_closed"


def _warehouse(tenant, code: str, field: str) -> Warehouse:
    warehouse = Warehouse.objects.filter(tenant=tenant, code=(code or "").strip()).first()
    if warehouse is None:
        raise UnknownWarehouse(
            gettext("Unknown warehouse '%(code)s'.") % {"code": (code or "").strip()[:30]}, field=field
        )
    return warehouse


@transaction.atomic
def create_transfer(
    *, tenant, from_code: str, to_code: str, lines: list[tuple[str, int]], note="", expected_at=None, actor=None
):
    """Send these units (SKU, quantity) from one warehouse to another; they leave the source now."""
    source, target = _warehouse(tenant, from_code, "from"), _warehouse(tenant, to_code, "to")
    if source.pk == target.pk:
        raise InvalidQuantity(gettext("Choose two different warehouses."), field="to")
    check_expected(expected_at)  # the day it arrives, like a purchase order's
    if not lines or len(lines) > MAX_LINES:
        raise InvalidQuantity(
            gettext("A transfer needs 1 to %(max_lines)s lines.") % {"max_lines": MAX_LINES}, field="lines"
        )
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        if not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000:
            raise InvalidQuantity(
                gettext("Quantity of %(sku)s must be a whole number from 1 to 1,000,000.") % {"sku": sku}, field="lines"
            )
        wanted[sku] = wanted.get(sku, 0) + quantity
    products = {p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in=wanted)}
    unknown = sorted(set(wanted) - products.keys())
    if unknown:
        raise UnknownProduct(
            gettext("Unknown SKU: %(unknown)s.") % {"unknown": ", ".join(unknown)},
            field="lines",
            details={"skus": unknown},
        )
    transfer = Transfer.objects.create(
        tenant=tenant,
        number="",
        from_warehouse=source,
        to_warehouse=target,
        note=" ".join((note or "").split())[:200],
        expected_at=expected_at,
        created_by=actor,
    )
    transfer.number = f"TR-{transfer.pk}"
    Transfer.objects.filter(pk=transfer.pk).update(number=transfer.number)
    TransferLine.objects.bulk_create(
        [TransferLine(tenant=tenant, transfer=transfer, product=products[sku], quantity=q) for sku, q in wanted.items()]
    )
    services.send_away(
        tenant=tenant,
        warehouse=source,
        lines=[(products[sku], q) for sku, q in wanted.items()],
        transfer=transfer,
        actor=actor,
    )
    return transfer


@transaction.atomic
def receive_transfer(*, transfer: Transfer, lines: list[tuple[str, int]], actor=None) -> Transfer:
    """Book what arrived at the destination (`transfer-in` movements); more than is still on the way is refused.
    Orders waiting for these products are served as for any receipt."""
    transfer = _lock_open(transfer)
    wanted, by_sku = services.check_arrival(
        number=transfer.number,
        lines=lines,
        locked_lines=locks.lock_transfer_lines(transfer),
        still=gettext("on the way"),
    )
    for sku, quantity in wanted.items():
        TransferLine.objects.filter(pk=by_sku[sku].pk).update(received=F("received") + quantity)
    services.receive(
        tenant=transfer.tenant,
        warehouse=transfer.to_warehouse,
        lines=[(by_sku[sku].product, quantity) for sku, quantity in wanted.items()],
        actor=actor,
        reason=f"Transfer {transfer.number}",
        transfer=transfer,
    )
    if not transfer.lines.filter(received__lt=F("quantity")).exists():
        transfer.state, transfer.received_at = TransferState.RECEIVED, timezone.now()
        transfer.save(update_fields=["state", "received_at"])
    return transfer


def _lock_open(transfer: Transfer) -> Transfer:
    transfer = locks.lock_transfer(transfer)
    if transfer.state == TransferState.RECEIVED:
        raise TransferClosed(
            gettext("%(number)s has arrived in full; nothing more is on the way.") % {"number": transfer.number}
        )
    if transfer.state != TransferState.IN_TRANSIT:
        raise TransferClosed(
            gettext("%(number)s is closed (%(state)s); nothing more is on the way.")
            % {"number": transfer.number, "state": transfer.get_state_display().lower()}
        )
    return transfer


def _close(*, transfer: Transfer, state: str, reason: str, actor_label: str) -> list[TransferLine]:
    """End an open transfer before all of it arrived; answers its lines with units not received."""
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise InvalidQuantity(gettext("Say why the transfer ends here."), field="reason")
    transfer = _lock_open(transfer)
    short = [line for line in locks.lock_transfer_lines(transfer) if line.outstanding]
    transfer.state, transfer.closed_at = state, timezone.now()
    transfer.closed_reason, transfer.closed_by_label = reason, actor_label[:150]
    transfer.save(update_fields=["state", "closed_at", "closed_reason", "closed_by_label"])
    return short


@transaction.atomic
def cancel_transfer(*, transfer: Transfer, reason: str, actor=None, actor_label="") -> Transfer:
    """The units not received turn back: they arrive at the source again (`transfer-in` there), where orders
    waiting for them are served as for any receipt. What already arrived stays at the destination."""
    short = _close(transfer=transfer, state=TransferState.CANCELLED, reason=reason, actor_label=actor_label)
    if short:
        services.receive(
            tenant=transfer.tenant,
            warehouse=transfer.from_warehouse,
            lines=[(line.product, line.outstanding) for line in short],
            actor=actor,
            reason=f"Transfer {transfer.number} cancelled: back at {transfer.from_warehouse.code}",
            transfer=transfer,
        )
    return transfer


@transaction.atomic
def close_short(*, transfer: Transfer, reason: str, actor_label="") -> Transfer:
    """The units not received are lost on the way. They left the source's stock when the transfer was made, so
    no warehouse's stock changes; they stop counting as on the way (expected arrivals, what to reorder)."""
    _close(transfer=transfer, state=TransferState.CLOSED_SHORT, reason=reason, actor_label=actor_label)
    return transfer


def receive_scanned_unit(*, transfer: Transfer, code: str, actor=None) -> tuple[Transfer, Product]:
    """One scanned unit (barcode or SKU) received on the transfer."""
    product = services.product_on(document=transfer, code=code)
    return receive_transfer(transfer=transfer, lines=[(product.sku, 1)], actor=actor), product


def in_transit(*, tenant, product_ids=None) -> dict[int, int]:
    """Units on the way between warehouses, by product."""
    totals: dict[int, int] = {}
    for (product_id, _), units in in_transit_to_warehouses(tenant=tenant, product_ids=product_ids).items():
        totals[product_id] = totals.get(product_id, 0) + units
    return totals


def in_transit_to_warehouses(*, tenant, product_ids=None) -> dict[tuple[int, int], int]:
    """Units on the way, by (product, the warehouse they travel to)."""
    lines = TransferLine.objects.filter(tenant=tenant, transfer__state=TransferState.IN_TRANSIT)
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    totals: dict[tuple[int, int], int] = {}
    rows = lines.values_list("product_id", "transfer__to_warehouse_id", "quantity", "received")
    for product_id, to_warehouse_id, quantity, received in rows:
        key = (product_id, to_warehouse_id)
        totals[key] = totals.get(key, 0) + quantity - received
    return totals


def expected_arrivals(*, tenant, product_ids) -> dict[int, tuple[int, object]]:
    """Per product: units on their way in (open purchase orders and transfers) and the earliest date any of them
    is expected (None when none has a date): what a waiting order line shows."""
    from .purchasing import incoming

    arrivals = dict(incoming(tenant=tenant, product_ids=product_ids))
    lines = TransferLine.objects.filter(
        tenant=tenant, transfer__state=TransferState.IN_TRANSIT, product_id__in=list(product_ids)
    ).values_list("product_id", "quantity", "received", "transfer__expected_at")
    for product_id, quantity, received, expected_at in lines:
        units, earliest = arrivals.get(product_id, (0, None))
        dates = [d for d in (earliest, expected_at) if d is not None]
        arrivals[product_id] = (units + quantity - received, min(dates) if dates else None)
    return arrivals

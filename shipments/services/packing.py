"""The packing station: every unit is scanned against the order's lines before the order counts as packed."""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from inventory.models import Product, Warehouse
from inventory.selectors import product_by_code
from inventory.services import order_warehouses, warehouses_of, warehouses_of_annotation
from oms.actors import Actor
from oms.db import retry_on_conflict
from orders.models import Group, Order, OrderLine
from orders.services.editing import record_shipment_fact

from .. import locks
from ..errors import ScanRefused
from ..models import PackScan
from .common import packed_status


@dataclass
class PackLine:
    line: OrderLine
    scanned: int

    @property
    def expected(self) -> int:
        return self.line.quantity

    @property
    def done(self) -> bool:
        return self.scanned >= self.line.quantity


@dataclass
class ScanResult:
    order: Order
    line: OrderLine | None
    complete: bool
    message: str
    lines: list[PackLine]


def _lines_with_counts(order: Order):
    """The order's lines with their live (not undone) scan counts, in one query."""
    live = PackScan.objects.filter(tenant_id=order.tenant_id, line_id=OuterRef("pk"), undone_at__isnull=True)
    count = live.order_by().values("line_id").annotate(n=Count("id")).values("n")
    return (
        OrderLine.objects.filter(tenant_id=order.tenant_id, order_id=order.pk)
        .with_products()
        .annotate(scanned=Coalesce(Subquery(count), 0))
        .order_by("pk")
    )


def pack_lines(order: Order) -> list[PackLine]:
    return [PackLine(line=line, scanned=line.scanned) for line in _lines_with_counts(order)]


_UNKNOWN = object()


def check_packable(order: Order, user=None, *, allowed=_UNKNOWN) -> None:
    """Refused (ScanRefused) when the order cannot be packed now, or not by `user`: a packer limited to some
    warehouses packs only orders whose units are reserved there (`allowed`: those warehouses when the caller read
    them already, None for everywhere)."""
    if order.group != Group.ASSEMBLY:
        raise ScanRefused(
            gettext("Order %(number)s is not in assembly (it is '%(status)s'); it cannot be packed.")
            % {"number": order.number, "status": order.status.name}
        )
    if order.packing_verified_at is not None:
        raise ScanRefused(gettext("Order %(number)s is already packed.") % {"number": order.number})
    if allowed is _UNKNOWN:
        allowed = warehouses_of(tenant=order.tenant_id, user=user) if getattr(user, "pk", None) else None
    if allowed is not None:
        held_at = order_warehouses(tenant=order.tenant_id, line_ids=order.lines.values_list("pk", flat=True))
        if not held_at <= allowed:
            codes = ", ".join(sorted(Warehouse.objects.filter(pk__in=held_at - allowed).values_list("code", flat=True)))
            raise ScanRefused(
                gettext("Order %(number)s is packed at %(codes)s, not at your warehouse.")
                % {"number": order.number, "codes": codes}
            )


def _scanned_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ScanRefused(gettext("Nothing was scanned."))
    return code[:64]


@retry_on_conflict()
@transaction.atomic
def scan_item(*, order: Order, code: str, actor: Actor) -> ScanResult:
    """Count one scanned unit against the order. A wrong item, an item of another order or one unit too many is
    refused (ScanRefused) and writes nothing. The last unit verifies packing and moves the order to packed."""
    code = _scanned_code(code)
    order = locks.lock_order(order)  # two scans of one order queue here, so counts cannot over-run
    check_packable(order, actor.user)
    return _count(order, code, actor)


@retry_on_conflict()
@transaction.atomic
def scan_at_station(*, tenant, order_id: int, code: str, actor: Actor) -> ScanResult:
    """`scan_item` for the packing station's request, which knows only the order's id: the order is locked and read
    once, with its status, customer and the packer's warehouses; then its lines with their counts; then the scan is
    written (a scan that counts a unit costs these three statements). Order.DoesNotExist: no such order here."""
    code = _scanned_code(code)
    user = actor.user if actor.user_id else None
    extra = {"packer_warehouses": warehouses_of_annotation(user=user)} if user is not None else {}
    order = locks.lock_order_by_id(tenant_id=tenant.pk, pk=order_id, **extra)
    order.tenant = tenant
    allowed = (set(order.packer_warehouses) or None) if user is not None else None
    check_packable(order, user, allowed=allowed)
    return _count(order, code, actor)


# The scan row, written in the statement that also says how durable this transaction's commit must be. A scan that
# counts a unit does not wait for the WAL flush (on a busy disk, most of its time): a crash in the next fraction of
# a second could lose that count, and the station, reloaded, shows the unit still to scan. The scan completing the
# order (status, history, event) commits as durably as the server is set to.
_INSERT_SCAN = f"""
INSERT INTO {PackScan._meta.db_table} (tenant_id, order_id, line_id, product_id, code, scanned_by_id, scanned_at)
SELECT %s, %s, %s, %s, %s, %s, %s
FROM (SELECT set_config('synchronous_commit', CASE WHEN %s THEN 'off' ELSE current_setting('synchronous_commit')
      END, true)) AS durability
"""  # noqa: S608 - our own table name, values are parameters


def _count(order: Order, code: str, actor: Actor) -> ScanResult:
    lines = list(_lines_with_counts(order))
    # The lines carry their products: a right item is recognised without another query.
    matching = [line for line in lines if line.product.barcode == code]
    other = None
    if not matching:
        # A code that is another product's barcode names that product, never a line whose SKU reads the same.
        other = Product.objects.filter(tenant_id=order.tenant_id, barcode=code).first()
        if other is None:
            matching = [line for line in lines if line.product.sku == code]
    if not matching:
        product = other or product_by_code(tenant=order.tenant_id, code=code)
        if product is None:
            raise ScanRefused(gettext("Unknown code '%(code)s': no product has this barcode or SKU.") % {"code": code})
        raise ScanRefused(
            gettext("Wrong item: %(sku)s (%(name)s) is not in order %(number)s.")
            % {"sku": product.sku, "name": product.name, "number": order.number}
        )
    product = matching[0].product
    counts = {line.pk: line.scanned for line in lines}
    target = next((line for line in matching if counts.get(line.pk, 0) < line.quantity), None)
    if target is None:
        expected = sum(line.quantity for line in matching)
        raise ScanRefused(
            gettext("One too many: order %(number)s needs only %(expected)s × %(sku)s.")
            % {"number": order.number, "expected": expected, "sku": product.sku}
        )
    counts[target.pk] = counts.get(target.pk, 0) + 1
    complete = all(counts.get(line.pk, 0) >= line.quantity for line in lines)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SCAN,
            [
                order.tenant_id,
                order.pk,
                target.pk,
                product.pk,
                code,
                actor.user_id or None,
                timezone.now(),
                not complete,
            ],
        )
    pack = [PackLine(line=line, scanned=counts.get(line.pk, 0)) for line in lines]
    if complete:
        order = _verify_packing(order, actor)
        return ScanResult(
            order=order,
            line=target,
            complete=True,
            message=gettext("Order %(number)s is packed.") % {"number": order.number},
            lines=pack,
        )
    return ScanResult(
        order=order,
        line=target,
        complete=False,
        message=gettext("%(sku)s: %(scanned)s of %(quantity)s.")
        % {"sku": product.sku, "scanned": counts[target.pk], "quantity": target.quantity},
        lines=pack,
    )


def _verify_packing(order: Order, actor: Actor) -> Order:
    """Packing verified and, when the shop has a status for it, the order packed: one write of the order row."""
    target = packed_status(order)
    return record_shipment_fact(
        order=order,
        fact="packing_verified_at",
        actor=actor,
        details={"verified": "every unit scanned"},
        move_to=target if target is not None and target.pk != order.status_id else None,
    )


@retry_on_conflict()
@transaction.atomic
def undo_last_scan(*, order: Order, actor: Actor) -> PackScan:
    """Take back the most recent scan of an order that is still being packed."""
    order = locks.lock_order(order)
    check_packable(order, actor.user)
    last = (
        PackScan.objects.filter(tenant_id=order.tenant_id, order_id=order.pk, undone_at__isnull=True)
        .select_related("product")
        .order_by("-scanned_at", "-pk")
        .first()
    )
    if last is None:
        raise ScanRefused(gettext("There is no scan to undo."))
    last.undone_at = timezone.now()
    last.save(update_fields=["undone_at"])
    return last

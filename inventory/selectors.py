"""Tenant-scoped reads of the catalogue and stock."""

from collections.abc import Callable

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from .models import Product, Reservation, StockLevel, StockMove, Warehouse


def products(*, tenant, search: str = "", active_only: bool = False):
    queryset = Product.objects.filter(tenant=tenant)
    if search:
        queryset = queryset.filter(Q(sku__icontains=search) | Q(name__icontains=search) | Q(barcode=search))
    if active_only:
        queryset = queryset.filter(is_active=True)
    return (
        queryset.annotate(on_hand=Coalesce(Sum("levels__on_hand"), 0), reserved=Coalesce(Sum("levels__reserved"), 0))
        .annotate(available=F("on_hand") - F("reserved"))
        .order_by("sku", "pk")
    )


def warehouses(*, tenant):
    return Warehouse.objects.filter(tenant=tenant).order_by("priority", "code")


def stock_levels(*, tenant, sku: str = "", product=None):
    queryset = StockLevel.objects.filter(tenant=tenant).select_related("product", "warehouse")
    if sku:
        queryset = queryset.filter(product__sku=sku)
    if product is not None:
        queryset = queryset.filter(product=product)
    # `available` is a property of the model (on_hand - reserved); an annotation of that name cannot be set.
    return queryset.order_by("product__sku", "warehouse__priority", "warehouse__code", "pk")


def ledger(*, tenant, product):
    return (
        StockMove.objects.filter(tenant=tenant, product=product)
        .select_related("warehouse", "actor")
        .order_by("-created_at", "-pk")
    )


def product_by_code(*, tenant, code: str):
    """A product by barcode or SKU (what a scanner or a person types)."""
    code = code.strip()
    if not code:
        return None
    return Product.objects.filter(tenant=tenant).filter(Q(barcode=code) | Q(sku=code)).order_by("-is_active").first()


def product_by_any_code(*, tenant, code: str):
    """What a person types for a product: its barcode, or its SKU in any case (an exact SKU wins)."""
    code = (code or "").strip()[:64]
    if not code:
        return None
    exact = product_by_code(tenant=tenant, code=code)
    if exact is not None:
        return exact
    return Product.objects.filter(tenant=tenant, sku__iexact=code).order_by("-is_active", "pk").first()


def _level_drift(*, tenant, parts, figure: str, keep_zero: bool):
    """Stock levels whose `figure` differs from the sum of `parts` (rows with warehouse, product and quantity)."""
    sums = {
        (row["warehouse_id"], row["product_id"]): row["total"]
        for row in parts.filter(tenant=tenant).values("warehouse_id", "product_id").annotate(total=Sum("quantity"))
    }
    drift = []
    for level in StockLevel.objects.filter(tenant=tenant).select_related("product", "warehouse"):
        expected = sums.pop((level.warehouse_id, level.product_id), 0)
        if expected != getattr(level, figure):
            drift.append((level.warehouse.code, level.product.sku, getattr(level, figure), expected))
    drift.extend((str(w), str(p), 0, total) for (w, p), total in sums.items() if total or keep_zero)
    return drift


def ledger_drift(*, tenant):
    """Stock levels whose on-hand differs from the sum of their ledger movements."""
    return _level_drift(tenant=tenant, parts=StockMove.objects, figure="on_hand", keep_zero=False)


def reservation_drift(*, tenant):
    """Stock levels whose `reserved` differs from the sum of their reservations: (warehouse, sku, reserved, held)."""
    return _level_drift(tenant=tenant, parts=Reservation.objects, figure="reserved", keep_zero=True)


_holder_checks: list[Callable] = []


def register_holder_check(check: Callable) -> None:
    """`check(tenant) -> [text]`: what holds reservations (order lines, an app above inventory) against them, one
    text per line that differs. check_stock runs them; inventory knows no order table."""
    _holder_checks.append(check)


def holder_drift(*, tenant) -> list[str]:
    return [text for check in _holder_checks for text in check(tenant)]


def packers(*, tenant):
    """The shop's active packers, for choosing who works at a warehouse."""
    from oms.models import Membership, Role

    return [
        m.user
        for m in Membership.objects.filter(tenant=tenant, role=Role.PACKER, is_active=True)
        .select_related("user")
        .order_by("user__username")
    ]

"""The one place stock rows are locked: always ordered by (product, warehouse) so lockers never deadlock."""

from .models import PurchaseOrder, StockLevel, Transfer


def lock_levels_of_products(*, tenant, product_ids, warehouse_ids=None) -> list[StockLevel]:
    levels = StockLevel.objects.filter(tenant=tenant, product_id__in=set(product_ids))
    if warehouse_ids is not None:
        levels = levels.filter(warehouse_id__in=set(warehouse_ids))
    return list(
        levels.select_related("warehouse").order_by("product_id", "warehouse_id").select_for_update(of=("self",))
    )


def lock_level(*, tenant, product, warehouse) -> StockLevel:
    """Lock (creating if needed) the stock level of one product in one warehouse."""
    StockLevel.objects.bulk_create(
        [StockLevel(tenant=tenant, product=product, warehouse=warehouse)], ignore_conflicts=True
    )
    return StockLevel.objects.select_for_update().get(tenant=tenant, product=product, warehouse=warehouse)


def lock_purchase_order(order):
    """A purchase order before its lines, and both before any stock level (receiving takes them in that order)."""
    return PurchaseOrder.objects.select_for_update().select_related("warehouse").get(pk=order.pk, tenant=order.tenant)


def lock_purchase_lines(order):
    return list(order.lines.with_products().select_for_update(of=("self",)).order_by("pk"))


def lock_transfer(transfer):
    return Transfer.objects.select_for_update().get(pk=transfer.pk, tenant=transfer.tenant)


def lock_transfer_lines(transfer):
    return list(transfer.lines.with_products().select_for_update(of=("self",)).order_by("pk"))

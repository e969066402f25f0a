"""Small builders shared by the inventory tests."""

from decimal import Decimal

from django.db.models import Sum

from inventory import services as stock
from inventory.models import Reservation, StockLevel, StockMove
from oms.actors import Actor
from orders.services.intake import LineInput, OrderInput, create_order
from tests.factories import ProductFactory, WarehouseFactory
from tests.rls_support import within_tenant

SYSTEM = Actor.system("tests")


@within_tenant
def warehouse(tenant, code="MAIN", **fields):
    return WarehouseFactory(tenant=tenant, code=code, **fields)


@within_tenant
def product(tenant, sku=None, **fields):
    if sku:
        fields["sku"] = sku
    return ProductFactory(tenant=tenant, **fields)


@within_tenant
def stocked(tenant, units=10, *, where=None, **fields):
    """A product with `units` received into `where` (a new MAIN warehouse unless given)."""
    where = where or warehouse(tenant)
    item = product(tenant, **fields)
    if units:
        stock.receive(tenant=tenant, warehouse=where, lines=[(item, units)], reason="opening stock")
    return item, where


@within_tenant
def order_for(tenant, item, quantity=1, name="Ann"):
    return create_order(
        tenant=tenant,
        data=OrderInput(customer_name=name, lines=[LineInput(sku=item.sku, quantity=quantity)]),
        actor=SYSTEM,
    )


@within_tenant
def lines_for(tenant, items, quantity=1):
    """One order with a line of `quantity` per item (in that order); returns the lines."""
    order = create_order(
        tenant=tenant,
        data=OrderInput(customer_name="Bo", lines=[LineInput(sku=i.sku, quantity=quantity) for i in items]),
        actor=SYSTEM,
    )
    return list(order.lines.order_by("pk"))


def level(item, where) -> StockLevel:
    return StockLevel.objects.get(product=item, warehouse=where)


def ledger_sum(item, where) -> int:
    return StockMove.objects.filter(product=item, warehouse=where).aggregate(s=Sum("quantity"))["s"] or 0


def reserved_sum(**filters) -> int:
    return Reservation.objects.filter(**filters).aggregate(s=Sum("quantity"))["s"] or 0


def snapshot() -> tuple:
    """Everything stock-related, to prove a refused request wrote nothing."""
    return (
        StockMove.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        list(Reservation.objects.order_by("pk").values_list("pk", "quantity")),
    )


def price(text) -> Decimal:
    return Decimal(text)

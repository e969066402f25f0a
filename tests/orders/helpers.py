from decimal import Decimal

from inventory import services as stock
from oms.actors import Actor
from orders.services import intake, statuses
from tests.factories import ProductFactory, WarehouseFactory
from tests.rls_support import within_tenant

SYSTEM = Actor.system("tests")


@within_tenant
def stocked_product(tenant, on_hand=10, price="10.00", warehouse=None, **fields):
    product = ProductFactory(tenant=tenant, price=Decimal(price), **fields)
    if on_hand:
        warehouse = warehouse or WarehouseFactory(tenant=tenant)
        stock.receive(tenant=tenant, warehouse=warehouse, lines=[(product, on_hand)])
    return product


@within_tenant
def place_order(tenant, lines, actor=SYSTEM, **fields):
    """`lines`: [(product, quantity)] or [(product, quantity, price)]."""
    data = intake.OrderInput(
        customer_name=fields.pop("customer_name", "Test Customer"),
        lines=[intake.LineInput(sku=p.sku, quantity=q, price=(rest[0] if rest else None)) for p, q, *rest in lines],
        **fields,
    )
    return intake.create_order(tenant=tenant, data=data, actor=actor)


@within_tenant
def move(order, *codes, actor=SYSTEM):
    for code in codes:
        order = statuses.change_status(order=order, to_code=code, actor=actor)
    return order

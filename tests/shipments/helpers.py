from oms.actors import Actor
from oms.models import Role
from orders.services.reservations import reserve_order
from shipments.services import custody, packing
from tests.factories import make_member
from tests.orders.helpers import SYSTEM, move, place_order, stocked_product
from tests.rls_support import within_tenant

PACKER_ACTOR = Actor.system("packer-tests")


@within_tenant
def order_to_pack(tenant, lines=None, **fields):
    """An order in assembly with every line reserved: what the packing station receives."""
    if lines is None:
        lines = [(stocked_product(tenant, on_hand=20), 2), (stocked_product(tenant, on_hand=20), 1)]
    fields.setdefault("delivery_address", "5 Dock Road, Springfield")
    fields.setdefault("customer_phone", "+7 900 555-00-11")
    order = place_order(tenant, lines, **fields)
    order = move(order, "confirmed")
    order = reserve_order(order=order, actor=SYSTEM)
    return move(order, "assembling")


@within_tenant
def pack(order, actor=PACKER_ACTOR):
    """Scan every unit of the order."""
    for line in order.lines.select_related("product"):
        for _ in range(line.quantity):
            result = packing.scan_item(order=order, code=line.product.barcode, actor=actor)
    return result.order


@within_tenant
def packed_order(tenant, **kwargs):
    return pack(order_to_pack(tenant, **kwargs))


@within_tenant
def courier_of(tenant):
    return make_member(tenant, Role.COURIER)


@within_tenant
def handed_to_courier(tenant, courier=None, **kwargs):
    courier = courier or courier_of(tenant)
    order = packed_order(tenant, **kwargs)
    result = custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier)
    return result.order, result.stop, courier

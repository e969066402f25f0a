import pytest

from inventory.models import MoveKind, StockLevel, StockMove
from orders.errors import TransitionBlocked
from orders.services.statuses import change_status
from shipments.errors import HandoverRefused
from shipments.models import CustodyTransfer, HolderKind
from shipments.services import common, custody, returns, routes
from tests.orders.helpers import SYSTEM

from .helpers import PACKER_ACTOR, courier_of, handed_to_courier, order_to_pack, packed_order

pytestmark = pytest.mark.django_db


def test_handover_scan_records_custody_and_moves_into_delivery(tenant):
    courier = courier_of(tenant)
    order = packed_order(tenant)
    result = custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier)
    order.refresh_from_db()
    assert order.group == "delivery" and order.status.code == "handed-over" and order.handed_over_at
    transfer = CustodyTransfer.objects.get(order=order)
    assert (transfer.from_kind, transfer.to_kind) == (HolderKind.WAREHOUSE, HolderKind.COURIER)
    assert transfer.to_user == courier
    assert transfer.scanned_by_label == PACKER_ACTOR.name and transfer.at
    assert result.stop.route.courier == courier and result.stop.order == order


def test_nothing_but_the_handover_scan_moves_an_order_into_delivery(tenant):
    order = packed_order(tenant)
    with pytest.raises(TransitionBlocked, match="handed over"):
        change_status(order=order, to_code="handed-over", actor=SYSTEM)
    with pytest.raises(TransitionBlocked):
        change_status(order=order, to_code="in-transit", actor=SYSTEM, skip_matrix=True)
    order.refresh_from_db()
    assert order.group == "assembly"


def test_an_unpacked_order_cannot_be_handed_over(tenant):
    order = order_to_pack(tenant)
    with pytest.raises(HandoverRefused, match="not been packed"):
        custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant))
    assert not CustodyTransfer.objects.filter(order=order).exists()


def test_an_order_with_a_courier_cannot_be_handed_over_again(tenant):
    order, _, _ = handed_to_courier(tenant)
    with pytest.raises(HandoverRefused, match="already with"):
        custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant))
    assert CustodyTransfer.objects.filter(order=order).count() == 1


def test_custody_chain_through_failed_delivery_and_second_handover(tenant):
    order, stop, courier = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.fail(stop=stop, actor=SYSTEM, reason="Nobody at the address")
    assert common.current_holder(order).user == courier  # still responsible until scanned back
    custody.return_to_warehouse(order=order, actor=PACKER_ACTOR)
    assert common.current_holder(order).kind == HolderKind.WAREHOUSE
    other = courier_of(tenant)
    custody.hand_over(order=order, actor=PACKER_ACTOR, courier=other)
    chain = [(t.from_kind, t.to_kind) for t in CustodyTransfer.objects.filter(order=order).order_by("at", "pk")]
    assert chain == [("warehouse", "courier"), ("courier", "warehouse"), ("warehouse", "courier")]


def test_scanning_back_needs_a_failed_delivery(tenant):
    order, _, _ = handed_to_courier(tenant)
    with pytest.raises(HandoverRefused, match="no failed delivery"):
        custody.return_to_warehouse(order=order, actor=PACKER_ACTOR)


def test_delivery_consumes_the_reserved_stock_through_the_ledger(tenant):
    order, stop, _ = handed_to_courier(tenant, payment_status="paid")
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM)
    order.refresh_from_db()
    assert order.status.code == "delivered" and order.group == "complete" and order.delivered_at
    for line in order.lines.all():
        move = StockMove.objects.get(order_line_id=line.pk, kind=MoveKind.SHIPMENT)
        assert move.quantity == -line.quantity
    assert all(level.reserved == 0 for level in StockLevel.objects.filter(tenant=tenant))
    assert common.current_holder(order).kind == HolderKind.CUSTOMER


def test_returned_parcel_is_restocked_and_marked_returned(tenant):
    order, stop, _ = handed_to_courier(tenant, payment_status="paid")
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM)
    on_hand_before = {lv.product_id: lv.on_hand for lv in StockLevel.objects.filter(tenant=tenant)}
    order = returns.receive_return(order=order, actor=PACKER_ACTOR)
    assert order.status.code == "returned"
    for line in order.lines.all():
        level = StockLevel.objects.get(tenant=tenant, product=line.product)
        assert level.on_hand == on_hand_before[line.product_id] + line.quantity
        assert StockMove.objects.get(order_line_id=line.pk, kind=MoveKind.RETURN).quantity == line.quantity
    with pytest.raises(HandoverRefused, match="already"):
        returns.receive_return(order=order, actor=PACKER_ACTOR)


def test_parcel_returned_before_delivery_leaves_stock_as_it_was(tenant):
    order, stop, _ = handed_to_courier(tenant)
    levels_before = {lv.product_id: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(tenant=tenant)}
    returns.receive_return(order=order, actor=PACKER_ACTOR)
    for line in order.lines.all():
        level = StockLevel.objects.get(tenant=tenant, product=line.product)
        on_hand, reserved = levels_before[line.product_id]
        assert (level.on_hand, level.reserved) == (on_hand, reserved - line.quantity)

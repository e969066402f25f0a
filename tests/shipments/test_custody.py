import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.models import MoveKind, StockLevel, StockMove
from oms.models import Role
from orders.errors import TransitionBlocked
from orders.models import ActivityKind, OrderActivity, OrderStatus
from orders.purposes import StatusPurpose, status_for
from orders.services.statuses import change_status, parcel_is_out
from shipments import selectors
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


def available(product) -> int:
    level = StockLevel.objects.get(product=product)
    return level.on_hand - level.reserved


def refused_on_the_way(tenant):
    """A parcel handed to a courier, then refused by the customer: the order moves to the refused status."""
    order, stop, _ = handed_to_courier(tenant)
    refused = status_for(tenant.pk, StatusPurpose.REFUSED)
    return change_status(order=order, to_code=refused.code, actor=SYSTEM, skip_matrix=True)


def test_a_refused_parcel_keeps_its_units_out_of_sale_until_it_is_back(tenant):
    order = refused_on_the_way(tenant)
    products = [line.product for line in order.lines.all()]
    before = {p.pk: available(p) for p in products}
    assert all(line.reserved == line.quantity for line in order.lines.all())  # still with the courier
    assert parcel_is_out(order)
    order = returns.receive_return(order=order, actor=PACKER_ACTOR)  # scanned back in
    for line in order.lines.all():
        assert available(line.product) == before[line.product_id] + line.quantity
        assert line.reserved == 0
    assert not parcel_is_out(order)


def test_a_refused_parcel_lost_on_the_way_is_written_off_not_sold(tenant):
    order = refused_on_the_way(tenant)
    line = order.lines.select_related("product").first()
    level = StockLevel.objects.get(product=line.product)
    on_hand, sellable = level.on_hand, available(line.product)
    with pytest.raises(HandoverRefused, match="Say what happened"):
        returns.write_off_lost_parcel(order=order, actor=SYSTEM, reason="  ")
    returns.write_off_lost_parcel(order=order, actor=SYSTEM, reason="lost by the courier")
    level.refresh_from_db()
    assert level.on_hand == on_hand - line.quantity and available(line.product) == sellable  # no phantom stock
    move = StockMove.objects.get(order_line_id=line.pk, kind=MoveKind.WRITE_OFF)
    assert move.quantity == -line.quantity and "lost by the courier" in move.reason
    with pytest.raises(HandoverRefused, match="no parcel out"):
        returns.write_off_lost_parcel(order=order, actor=SYSTEM, reason="again")


def test_an_order_cancelled_before_it_left_gives_its_units_back_at_once(tenant):
    order = packed_order(tenant)
    line = order.lines.select_related("product").first()
    sellable = available(line.product)
    cancelled = OrderStatus.objects.filter(tenant=tenant, group="cancel").exclude(purpose__in=["refused", "returned"])
    change_status(order=order, to_code=cancelled.first().code, actor=SYSTEM, skip_matrix=True)
    assert available(line.product) == sellable + line.quantity


def test_only_office_staff_write_off_a_lost_parcel_from_the_custody_page(tenant, client_for):
    order = refused_on_the_way(tenant)
    url = reverse("shipments:write_off_lost", args=[order.pk])
    page = client_for(Role.MANAGER).get(reverse("shipments:order_custody", args=[order.pk])).content.decode()
    assert 'data-testid="parcel-out"' in page and 'data-testid="write-off-lost"' in page
    assert client_for(Role.PACKER).post(url, {"reason": "lost"}).status_code == 403
    response = client_for(Role.MANAGER).post(url, {"reason": "lost by the carrier"})
    assert response.status_code == 302
    assert not parcel_is_out(order)
    assert (
        "lost by the carrier"
        in OrderActivity.objects.filter(order=order, kind=ActivityKind.CUSTODY).last().changes["parcel_lost"]
    )


def test_who_holds_what_counts_parcels_goods_and_the_cash_on_open_routes(tenant, client_for):
    first, stop, courier = handed_to_courier(tenant)
    second, _, _ = handed_to_courier(tenant, courier=courier)
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(custody.amount_to_collect(first)))
    second.refresh_from_db()
    [held] = selectors.holdings(tenant=tenant)
    assert held["label"] == courier.username and held["parcels"] == 1  # the delivered one left their hands
    assert held["goods"] == second.total and held["cash"] == first.total  # cash until the route is closed
    page = client_for(Role.MANAGER).get(reverse("shipments:incidents")).content.decode()
    assert 'data-testid="holding"' in page and courier.username in page


def test_a_refused_parcel_moved_to_returned_by_hand_can_still_be_scanned_back_in(tenant):
    """The matrix allows refused → returned; the status alone does not put the units back on the shelf: the scan
    does, and it must still be possible."""
    order = refused_on_the_way(tenant)
    order = change_status(order=order, to_code=status_for(tenant.pk, StatusPurpose.RETURNED).code, actor=SYSTEM)
    assert parcel_is_out(order)  # the units are still held for the parcel
    products = [line.product for line in order.lines.all()]
    before = {p.pk: available(p) for p in products}
    order = returns.receive_return(order=order, actor=PACKER_ACTOR)
    for line in order.lines.all():
        assert available(line.product) == before[line.product_id] + line.quantity
        assert StockMove.objects.get(order_line_id=line.pk, kind=MoveKind.RETURN).quantity == line.quantity
    assert not parcel_is_out(order)
    with pytest.raises(HandoverRefused, match="already"):
        returns.receive_return(order=order, actor=PACKER_ACTOR)


def test_a_parcel_written_off_as_lost_and_then_scanned_back_in_is_restocked(tenant):
    """The write-off said the units would never come back; when the parcel does come back, its units are on the
    shelf again (the scan says "restocked")."""
    order = refused_on_the_way(tenant)
    line = order.lines.select_related("product").first()
    on_hand = StockLevel.objects.get(product=line.product).on_hand
    returns.write_off_lost_parcel(order=order, actor=SYSTEM, reason="lost by the courier")
    order = returns.receive_return(order=order, actor=PACKER_ACTOR)  # found after all
    assert StockLevel.objects.get(product=line.product).on_hand == on_hand
    assert StockMove.objects.get(order_line_id=line.pk, kind=MoveKind.RETURN).quantity == line.quantity
    line.refresh_from_db()
    assert line.reserved == 0
    call_command("check_stock", stdout=io.StringIO())  # levels, ledger and lines agree


def test_only_a_parcel_still_out_goes_back_into_delivery_from_a_cancel_status(tenant):
    in_transit = status_for(tenant.pk, StatusPurpose.IN_TRANSIT)
    redelivered = change_status(
        order=refused_on_the_way(tenant), to_code=in_transit.code, actor=SYSTEM, skip_matrix=True
    )
    assert redelivered.group == "delivery"  # the customer asked for it again while the courier still had it
    order = returns.receive_return(order=refused_on_the_way(tenant), actor=PACKER_ACTOR)  # its units back on the shelf
    with pytest.raises(TransitionBlocked, match="reserved"):
        change_status(order=order, to_code=in_transit.code, actor=SYSTEM, skip_matrix=True)
    order.refresh_from_db()
    assert order.group == "cancel" and all(line.reserved == 0 for line in order.lines.all())


def test_a_parcel_scanned_back_while_its_stop_is_open_fails_the_stop_so_the_route_can_close(tenant):
    """The courier brought the parcel back without marking the stop: the warehouse's scan resolves it."""
    order, stop, courier = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    returns.receive_return(order=order, actor=PACKER_ACTOR)
    stop.refresh_from_db()
    assert stop.result == "failed" and stop.reason and stop.resolved_at and stop.returned_at
    routes.close(route=stop.route, actor=SYSTEM)
    assert common.current_holder(order).kind == HolderKind.WAREHOUSE

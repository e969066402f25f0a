"""Line-level returns: the customer sends back some units of a delivered order; the warehouse restocks or writes
them off; the value is refunded on receipt when asked; an exchange order of the family sends them again."""

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import services as stock
from inventory.models import MoveKind, StockLevel, StockMove
from oms.models import Role
from orders.models import Payment
from orders.services import editing
from orders.services.payments import record_refund
from orders.services.reservations import reserve_order
from shipments.errors import ReturnRefused
from shipments.models import ReturnOutcome, ReturnState
from shipments.services import custody, returns, routes
from shipments.services.custody import amount_to_collect
from tests.factories import WarehouseFactory
from tests.orders.helpers import SYSTEM, move, place_order, stocked_product

from .helpers import PACKER_ACTOR, courier_of, handed_to_courier, pack

pytestmark = pytest.mark.django_db


def delivered(tenant, **fields):
    products = [stocked_product(tenant, on_hand=20), stocked_product(tenant, on_hand=20)]
    order, stop, _ = handed_to_courier(tenant, lines=[(products[0], 3), (products[1], 1)], **fields)
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(amount_to_collect(order)))  # cash on delivery
    order.refresh_from_db()
    return order


def lines_of(order):
    return list(order.lines.select_related("product").order_by("pk"))


def test_only_delivered_units_not_yet_named_can_be_sent_back(tenant):
    order = delivered(tenant)
    first, second = lines_of(order)
    assert returns.returnable(order) == {first.pk: 3, second.pk: 1}
    returns.announce_return(order=order, quantities={first.pk: 2}, reason="too big", actor=SYSTEM)
    assert returns.returnable(order) == {first.pk: 1, second.pk: 1}
    with pytest.raises(ReturnRefused, match="At most 1 unit"):
        returns.announce_return(order=order, quantities={first.pk: 2}, reason="again", actor=SYSTEM)
    with pytest.raises(ReturnRefused, match="Say why"):
        returns.announce_return(order=order, quantities={second.pk: 1}, reason=" ", actor=SYSTEM)
    with pytest.raises(ReturnRefused, match="cannot be negative"):
        returns.announce_return(order=order, quantities={second.pk: -1}, reason="x", actor=SYSTEM)
    with pytest.raises(ReturnRefused, match="at least one"):
        returns.announce_return(order=order, quantities={second.pk: 0}, reason="x", actor=SYSTEM)


def test_an_order_not_delivered_has_nothing_to_send_back(tenant):
    order, _, _ = handed_to_courier(tenant)
    line = lines_of(order)[0]
    with pytest.raises(ReturnRefused, match="not been delivered"):
        returns.announce_return(order=order, quantities={line.pk: 1}, reason="x", actor=SYSTEM)


def test_received_units_go_back_on_the_shelf_or_are_written_off_with_a_reason(tenant):
    order = delivered(tenant)
    first, second = lines_of(order)
    on_hand = {line.pk: StockLevel.objects.get(product=line.product).on_hand for line in (first, second)}
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 2, second.pk: 1}, reason="wrong size", actor=SYSTEM
    )
    with pytest.raises(ReturnRefused, match="Say why"):
        returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR, write_offs={second.pk: ""})
    returns.receive_customer_return(
        customer_return=customer_return, actor=PACKER_ACTOR, write_offs={second.pk: "box crushed"}
    )
    customer_return.refresh_from_db()
    assert customer_return.state == ReturnState.RECEIVED
    assert StockLevel.objects.get(product=first.product).on_hand == on_hand[first.pk] + 2
    assert StockLevel.objects.get(product=second.product).on_hand == on_hand[second.pk]  # in, then written off
    assert StockMove.objects.get(order_line_id=second.pk, kind=MoveKind.RETURN).quantity == 1
    assert "box crushed" in StockMove.objects.get(product=second.product, kind=MoveKind.WRITE_OFF).reason
    outcomes = {line.order_line_id: line.outcome for line in customer_return.lines.all()}
    assert outcomes == {first.pk: ReturnOutcome.RESTOCK, second.pk: ReturnOutcome.WRITE_OFF}
    with pytest.raises(ReturnRefused, match="already been received"):
        returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)


def test_the_returned_value_is_refunded_on_receipt(tenant):
    order = delivered(tenant, payment_status="paid")
    first, _ = lines_of(order)
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 2}, reason="changed mind", actor=SYSTEM, refund_method="card"
    )
    assert not Payment.objects.filter(order=order, kind="refund").exists()  # not before the goods are back
    returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)
    refund = Payment.objects.get(order=order, kind="refund")
    assert refund.amount == first.price * 2 and refund.method == "card"
    order.refresh_from_db()
    assert order.paid == order.total - first.price * 2 and order.payment_status == "partially_paid"


def test_the_refund_is_what_the_units_were_sold_for_after_discounts(tenant):
    cheap, dear = stocked_product(tenant, price="10.00", on_hand=20), stocked_product(tenant, price="30.00", on_hand=20)
    order = place_order(tenant, [(cheap, 3), (dear, 1)], delivery_address="5 Dock Road", customer_phone="+7 900 555")
    first = order.lines.get(product=cheap)
    editing.update_line(line=first, quantity=3, price=first.price, discount="3.00", actor=SYSTEM)  # line 27.00
    order = editing.set_charges(order=order, delivery_cost="5.00", discount="6.00", actor=SYSTEM)
    assert order.total == Decimal("56.00")  # goods 57.00 − 6.00 + delivery 5.00
    order = pack(move(reserve_order(order=move(order, "confirmed"), actor=SYSTEM), "assembling"))
    stop = custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant)).stop
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected="56.00")
    order.refresh_from_db()
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 2}, reason="too small", actor=SYSTEM, refund_method="card"
    )
    returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)
    # two of three units of a 27.00 line: 18.00, less their share of the order's discount (6 × 18 / 57 = 1.89)
    assert Payment.objects.get(order=order, kind="refund").amount == Decimal("16.11")


def test_an_exchange_sends_the_same_units_again_in_an_order_of_the_family(tenant):
    order = delivered(tenant)
    first, _ = lines_of(order)
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 1}, reason="faulty", actor=SYSTEM, exchange=True
    )
    exchange = customer_return.exchange
    assert exchange.parent_id == order.pk and exchange.root_id == order.pk
    [line] = exchange.lines.all()
    assert (line.product_id, line.quantity) == (first.product_id, 1)
    exchange.refresh_from_db()
    assert (exchange.total, exchange.due) == (Decimal("0.00"), Decimal("0.00"))  # the units sent back paid for it
    assert amount_to_collect(exchange) == Decimal("0.00")  # the courier asks for nothing


def test_an_exchange_with_a_refund_is_a_purchase_at_the_price(tenant):
    order = delivered(tenant)
    first, _ = lines_of(order)
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 1}, reason="faulty", actor=SYSTEM, exchange=True, refund_method="cash"
    )
    assert customer_return.exchange.total == first.price


def test_managers_announce_and_warehouse_staff_receive_by_scan(tenant, client_for):
    order = delivered(tenant)
    first, second = lines_of(order)
    url = reverse("shipments:announce_return", args=[order.pk])
    assert client_for(Role.PACKER).get(url).status_code == 403
    page = client_for(Role.MANAGER).get(url).content.decode()
    assert f'name="line-{first.pk}"' in page and 'max="3"' in page
    answer = client_for(Role.MANAGER).post(url, {f"line-{first.pk}": "1", "reason": "too small", "refund_method": ""})
    assert answer.status_code == 302
    packer = client_for(Role.PACKER)
    scanned = packer.post(reverse("shipments:returns"), {"mode": "customer", "code": order.number})
    customer_return = returns.expected_return_of(order)
    assert scanned.status_code == 302 and scanned["Location"].endswith(
        reverse("shipments:customer_return", args=[customer_return.pk])
    )
    receive = reverse("shipments:customer_return", args=[customer_return.pk])
    refused = packer.post(receive, {f"write-off-{first.pk}": "on", f"reason-{first.pk}": ""})
    assert refused.status_code == 200 and "Say why" in refused.content.decode()
    assert packer.post(receive, {}).status_code == 302  # nothing ticked: every line back on the shelf
    customer_return.refresh_from_db()
    assert customer_return.state == ReturnState.RECEIVED
    bad = client_for(Role.MANAGER).post(url, {f"line-{second.pk}": "5", "reason": "x"})
    assert bad.status_code == 200 and "At most 1 unit" in bad.content.decode()


def test_a_refund_never_gives_back_more_than_is_still_paid(tenant):
    order = delivered(tenant)  # paid in cash on delivery
    first, _ = lines_of(order)
    record_refund(order=order, amount=str(order.paid), method="cash", actor=SYSTEM)  # already refunded in full
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 1}, reason="x", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)
    assert Payment.objects.filter(order=order, kind="refund").count() == 1
    order.refresh_from_db()
    assert order.paid == Decimal("0.00")


def test_the_order_page_after_a_refunded_return_owes_nothing_and_offers_no_split(tenant, client_for):
    """The API keeps its contract (due = total − paid); the page shows the refund for goods sent back apart."""
    order = delivered(tenant)  # 3 × 10.00 + 1 × 10.00, paid in full
    first, _ = lines_of(order)
    back = returns.announce_return(
        order=order, quantities={first.pk: 2}, reason="too big", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=back, actor=SYSTEM)
    page = client_for(Role.MANAGER).get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-testid="sent-back">20.00' in page and 'data-testid="due">0.00' in page
    assert 'data-testid="payment-status">Paid' in page
    assert "2 units sent back" in page
    assert 'data-testid="split"' not in page and "no date yet" not in page


def test_goods_sent_back_unpaid_are_not_owed_either(tenant, client_for):
    from orders.models import Order

    order = delivered(tenant)
    Order.objects.filter(pk=order.pk).update(paid=0, payment_status="unpaid")  # as if the cash was never taken
    Payment.objects.filter(order=order).delete()
    order.refresh_from_db()
    first, second = lines_of(order)
    back = returns.announce_return(
        order=order, quantities={first.pk: 3, second.pk: 1}, reason="all wrong", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=back, actor=SYSTEM)
    page = client_for(Role.MANAGER).get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-testid="sent-back">40.00' in page and 'data-testid="due">0.00' in page


def returned_units(line) -> int:
    return sum(StockMove.objects.filter(order_line_id=line.pk, kind=MoveKind.RETURN).values_list("quantity", flat=True))


def test_units_already_back_with_the_whole_parcel_cannot_be_sent_back_again(tenant):
    order = delivered(tenant)
    first, second = lines_of(order)
    returns.receive_return(order=order, actor=PACKER_ACTOR)  # the whole parcel came back: every unit restocked
    order.refresh_from_db()
    assert returns.returnable(order) == {}
    with pytest.raises(ReturnRefused, match="At most 0 unit"):
        returns.announce_return(order=order, quantities={first.pk: 3}, reason="too big", actor=SYSTEM)
    assert (returned_units(first), returned_units(second)) == (3, 1)


def test_an_announced_return_that_came_back_inside_the_whole_parcel_is_in_and_refunded_once(tenant):
    """The customer announced two units, then sent the whole parcel back: scanning the parcel in restocks every unit
    once, and the announced return is in with it (refunded as promised), never left waiting nor restocked again."""
    order = delivered(tenant)
    first, second = lines_of(order)
    customer_return = returns.announce_return(
        order=order, quantities={first.pk: 2}, reason="too big", actor=SYSTEM, refund_method="card"
    )
    paid = order.paid
    returned = returns.receive_return(order=order, actor=PACKER_ACTOR)  # every unit restocked
    customer_return.refresh_from_db()
    assert customer_return.state == ReturnState.RECEIVED and customer_return.received_at is not None
    assert set(customer_return.lines.values_list("outcome", flat=True)) == {ReturnOutcome.RESTOCK}
    assert customer_return.refund.amount == returns.returned_value(order, [(first, 2)]) > 0
    assert returned.paid == paid - customer_return.refund.amount  # the answer shows the refund
    on_hand = StockLevel.objects.get(product=first.product).on_hand
    with pytest.raises(ReturnRefused, match="already been received"):
        returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)
    assert StockLevel.objects.get(product=first.product).on_hand == on_hand
    assert (returned_units(first), returned_units(second)) == (3, 1)
    assert returns.expected_return_of(order) is None


def test_returns_one_unit_at_a_time_refund_no_more_than_the_goods_were_sold_for(tenant):
    product = stocked_product(tenant, price="10.00", on_hand=20)
    order = place_order(tenant, [(product, 3)], delivery_address="5 Dock Road", customer_phone="+7 900 555")
    order = editing.set_charges(order=order, delivery_cost="5.00", discount="1.00", actor=SYSTEM)
    assert order.total == Decimal("34.00")  # goods 30.00 − 1.00 + delivery 5.00
    order = pack(move(reserve_order(order=move(order, "confirmed"), actor=SYSTEM), "assembling"))
    stop = custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant)).stop
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected="34.00")
    order.refresh_from_db()
    (line,) = lines_of(order)
    for _ in range(3):  # each unit is worth 9.666…: the three refunds add up to the goods' 29.00, not 3 × 9.67
        customer_return = returns.announce_return(
            order=order, quantities={line.pk: 1}, reason="one by one", actor=SYSTEM, refund_method="card"
        )
        returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)
    refunds = Payment.objects.filter(order=order, kind="refund").values_list("amount", flat=True)
    assert sum(refunds) == Decimal("29.00")
    order.refresh_from_db()
    assert order.paid == Decimal("5.00")  # the delivery is not given back for goods sent back
    assert returns.value_sent_back(order) == Decimal("29.00")


def test_units_go_back_to_the_warehouses_they_left_from_and_are_restocked_once(tenant):
    near, far = WarehouseFactory(tenant=tenant, priority=1), WarehouseFactory(tenant=tenant, priority=2)
    product = stocked_product(tenant, on_hand=2, warehouse=near)
    stock.receive(tenant=tenant, warehouse=far, lines=[(product, 2)])
    order, stop, _ = handed_to_courier(tenant, lines=[(product, 4)])  # two units from each warehouse
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(amount_to_collect(order)))
    order.refresh_from_db()
    (line,) = lines_of(order)

    def on_hand():
        return {lv.warehouse_id: lv.on_hand for lv in StockLevel.objects.filter(product=product)}

    assert on_hand() == {near.pk: 0, far.pk: 0}
    customer_return = returns.announce_return(order=order, quantities={line.pk: 3}, reason="x", actor=SYSTEM)
    returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR)
    assert on_hand() == {near.pk: 2, far.pk: 1}  # never more into a warehouse than left it
    returns.receive_return(order=order, actor=PACKER_ACTOR)  # then the last unit comes back with the parcel
    assert on_hand() == {near.pk: 2, far.pk: 2}  # four units out, four back: not one more

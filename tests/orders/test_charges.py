"""Delivery cost and discounts are parts of the order total: goods (price × quantity − line discount) less the
order's discount plus delivery; the money adds up through edits, splits and payments."""

from decimal import Decimal

import pytest
from django.urls import reverse

from oms.models import Role
from orders.errors import EditNotAllowed, InvalidOrder
from orders.services import editing, families, payments
from orders.services.reservations import reserve_order
from shipments.documents import document_html

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def order_of(tenant, **product_fields):
    mug = stocked_product(tenant, price="10.00", on_hand=10, **product_fields)
    return place_order(tenant, [(mug, 3)])  # goods 30.00


def test_total_is_goods_less_discounts_plus_delivery(tenant):
    order = order_of(tenant)
    order = editing.set_charges(order=order, delivery_cost="4.50", discount="5", actor=SYSTEM)
    assert (order.goods_total, order.discount, order.delivery_cost, order.total) == (
        Decimal("30.00"),
        Decimal("5.00"),
        Decimal("4.50"),
        Decimal("29.50"),
    )
    line = order.lines.get()
    editing.update_line(line=line, quantity=3, price=Decimal("10.00"), discount=Decimal("2.00"), actor=SYSTEM)
    order.refresh_from_db()
    assert order.goods_total == Decimal("28.00") and order.total == Decimal("27.50")


def test_a_discount_larger_than_what_it_applies_to_is_refused_and_changes_nothing(tenant):
    order = order_of(tenant)
    with pytest.raises(InvalidOrder, match="more than the goods"):
        editing.set_charges(order=order, delivery_cost="0", discount="30.01", actor=SYSTEM)
    with pytest.raises(InvalidOrder, match="zero or more"):
        editing.set_charges(order=order, delivery_cost="-1", discount="0", actor=SYSTEM)
    with pytest.raises(InvalidOrder, match="more than the line"):
        editing.update_line(
            line=order.lines.get(), quantity=3, price=Decimal("10"), discount=Decimal("31"), actor=SYSTEM
        )
    order.refresh_from_db()
    assert (order.total, order.discount, order.delivery_cost) == (Decimal("30.00"), 0, 0)


def test_charges_are_fixed_once_the_order_is_being_assembled(tenant):
    order = move(reserve_order(order=move(order_of(tenant), "confirmed"), actor=SYSTEM), "assembling")
    with pytest.raises(EditNotAllowed):
        editing.set_charges(order=order, delivery_cost="3", discount="0", actor=SYSTEM)


def test_a_paid_order_that_gains_a_delivery_cost_is_partly_paid_again(tenant):
    order = order_of(tenant)
    payments.record_payment(order=order, amount="30.00", method="card", actor=SYSTEM)
    order = editing.set_charges(order=order, delivery_cost="5", discount="0", actor=SYSTEM)
    order.refresh_from_db()
    assert order.payment_status == "partially_paid" and order.due == Decimal("5.00")


def test_a_split_keeps_the_money_adding_up(tenant):
    mug = stocked_product(tenant, price="10.00", on_hand=2)
    order = move(place_order(tenant, [(mug, 3)]), "confirmed")
    order = editing.set_charges(order=order, delivery_cost="4", discount="25", actor=SYSTEM)
    editing.update_line(line=order.lines.get(), quantity=3, price=Decimal("10"), discount=Decimal("3"), actor=SYSTEM)
    order = reserve_order(order=order, actor=SYSTEM)  # 2 of 3 reserved
    child = families.split_unavailable(order=order, actor=SYSTEM)
    order.refresh_from_db()
    # The parent keeps 2 units (20.00 less its 3.00 line discount = 17.00); its 25.00 discount is capped to 17.00,
    # the other 8.00 goes with the unit split off: the family's total stays 6.00.
    assert (order.goods_total, order.discount, order.delivery_cost, order.total) == (
        Decimal("17.00"),
        Decimal("17.00"),
        Decimal("4.00"),
        Decimal("4.00"),
    )
    assert (child.discount, child.total, child.delivery_cost) == (Decimal("8.00"), Decimal("2.00"), 0)


def test_managers_set_charges_on_the_order_page_and_the_invoice_shows_them(tenant, client_for):
    order = order_of(tenant)
    url = reverse("orders:set_charges", args=[order.pk])
    assert client_for(Role.PACKER).post(url, {"delivery_cost": "5"}).status_code == 403
    page = client_for(Role.MANAGER).post(url, {"delivery_cost": "5.00", "discount": "3"}, HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert 'data-testid="total">32.00' in body and 'data-testid="delivery-cost">5.00' in body
    bad = client_for(Role.MANAGER).post(url, {"delivery_cost": "abc"}, HTTP_HX_REQUEST="true")
    assert "must be amounts of zero or more" in bad.content.decode()
    order.refresh_from_db()
    html = document_html(kind="invoice", tenant=tenant, orders=[order])
    assert "Delivery" in html and "5.00" in html and "− 3.00" in html and "32.00" in html


def test_a_split_moves_the_discounts_the_parent_cannot_keep_so_a_prepaid_family_stays_paid(tenant):
    cap = stocked_product(tenant, price="10.00", on_hand=5)
    mug = stocked_product(tenant, price="100.00", on_hand=1)
    order = move(place_order(tenant, [(cap, 1), (mug, 2)]), "confirmed")
    # Goods 210.00 less 120.00 off the mugs' line and 50.00 off the order: 40.00, paid in full.
    editing.update_line(
        line=order.lines.get(product=mug), quantity=2, price=Decimal("100"), discount=Decimal("120"), actor=SYSTEM
    )
    order = editing.set_charges(order=order, delivery_cost="0", discount="50", actor=SYSTEM)
    payments.record_payment(order=order, amount="40.00", method="card", actor=SYSTEM)
    order = reserve_order(order=order, actor=SYSTEM)  # 1 of 2 mugs
    child = families.split_unavailable(order=order, actor=SYSTEM)
    order.refresh_from_db()
    child.refresh_from_db()
    # The parent keeps its cap and one mug (10.00 + 100.00 − 100.00 = 10.00), the whole of which its discount takes;
    # the 20.00 of the line's discount and 40.00 of the order's it cannot keep go with the mug split off.
    assert (order.goods_total, order.discount, order.total) == (Decimal("10.00"), Decimal("10.00"), Decimal("0.00"))
    assert (child.goods_total, child.discount, child.total) == (Decimal("80.00"), Decimal("40.00"), Decimal("40.00"))
    assert order.total + child.total == Decimal("40.00")
    assert (child.paid, child.payment_status) == (Decimal("40.00"), "paid")
    assert order.paid == Decimal("0.00") and order.due == 0


def test_a_line_split_off_whole_keeps_its_discount(tenant):
    cap = stocked_product(tenant, price="10.00", on_hand=5)
    mug = stocked_product(tenant, price="100.00", on_hand=0)
    order = move(place_order(tenant, [(cap, 1), (mug, 1)]), "confirmed")
    editing.update_line(
        line=order.lines.get(product=mug), quantity=1, price=Decimal("100"), discount=Decimal("30"), actor=SYSTEM
    )
    order = reserve_order(order=order, actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    order.refresh_from_db()
    assert (order.total, child.total) == (Decimal("10.00"), Decimal("70.00"))
    assert child.lines.get().discount == Decimal("30.00")

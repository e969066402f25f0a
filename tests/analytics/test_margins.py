"""Categories and cost price: each order line keeps its product's cost of the day; the order page shows the margin
and the owners' report gives it by category and by channel."""

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import services as stock
from oms.models import Role
from orders.services import editing, families
from orders.services.reservations import reserve_order
from tests.orders.helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def product(tenant, sku, *, price, cost, category, on_hand=10):
    made = stocked_product(tenant, sku=sku, price=price, on_hand=on_hand)
    return stock.update_product(
        product=made,
        name=made.name,
        price=made.price,
        barcode=made.barcode,
        is_active=True,
        category=category,
        cost_price=None if cost is None else Decimal(cost),
    )


def test_lines_keep_the_cost_of_their_day_and_the_order_shows_its_margin(tenant, client_for):
    mug = product(tenant, "MUG", price="10.00", cost="4.00", category="Kitchen")
    order = place_order(tenant, [(mug, 3)])
    stock.update_product(
        product=mug, name=mug.name, price=mug.price, barcode="", is_active=True, cost_price=Decimal("9")
    )
    line = order.lines.get()
    assert line.cost == Decimal("4.00") and line.margin == Decimal("18.00")  # the old cost stays with the line
    editing.set_charges(order=order, delivery_cost="5", discount="2", actor=SYSTEM)
    order.refresh_from_db()
    assert order.margin() == Decimal("16.00")  # the order's discount comes off; delivery is not goods
    page = client_for(Role.MANAGER).get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-testid="margin">16.00' in page


def test_a_split_child_keeps_the_lines_cost(tenant):
    mug = product(tenant, "MUG", price="10.00", cost="4.00", category="Kitchen", on_hand=1)
    order = reserve_order(order=move(place_order(tenant, [(mug, 3)]), "confirmed"), actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    assert child.lines.get().cost == Decimal("4.00")


def test_the_report_gives_margin_by_category_and_channel(tenant, client_for):
    from orders.models import Order

    mug = product(tenant, "MUG", price="10.00", cost="4.00", category="Kitchen")
    tea = product(tenant, "TEA", price="5.00", cost="1.00", category="Tea")
    loose = product(tenant, "LOOSE", price="3.00", cost=None, category="Tea")
    web = place_order(tenant, [(mug, 2), (loose, 1)])
    shop = place_order(tenant, [(tea, 4)], channel="shop")
    Order.objects.filter(pk__in=[web.pk, shop.pk]).update(group="complete")
    owner = client_for(Role.OWNER)
    page = owner.get(reverse("analytics:margins")).content.decode()
    assert 'data-testid="margin-total">28.00' in page  # (20 − 8) + (20 − 4)
    csv = owner.get(reverse("analytics:margins"), {"format": "csv", "table": "categories"}).content.decode()
    assert "Kitchen,20.00,8.00,12.00,60.0,0" in csv and "Tea,20.00,4.00,16.00,80.0,1" in csv
    channels = owner.get(reverse("analytics:margins"), {"format": "csv", "table": "channels"}).content.decode()
    assert "shop,20.00,4.00,16.00,80.0,0" in channels
    assert client_for(Role.MANAGER).get(reverse("analytics:margins")).status_code == 403


def test_bad_cost_or_category_is_refused(tenant, client_for):
    mug = stocked_product(tenant, sku="MUG")
    with pytest.raises(Exception, match="Cost price"):
        stock.update_product(
            product=mug, name="Mug", price=Decimal("1"), barcode="", is_active=True, cost_price=Decimal("-1")
        )
    answer = client_for(Role.MANAGER).post(
        reverse("inventory:product_update", args=[mug.pk]),
        {"product-name": "Mug", "product-price": "1", "product-category": "x" * 101, "product-is_active": "on"},
    )
    assert answer.status_code == 200
    mug.refresh_from_db()
    assert mug.category == ""


def test_goods_sent_back_leave_the_margin_as_the_return_went(tenant, client_for):
    """Refunded units leave revenue; units back on the shelf leave cost; units written off stay a cost."""
    from orders.models import OrderLine
    from shipments.services import returns
    from tests.shipments.test_customer_returns import delivered, lines_of

    order = delivered(tenant)  # 3 × 10.00 and 1 × 10.00
    first, second = lines_of(order)
    OrderLine.objects.filter(pk=first.pk).update(cost=Decimal("4.00"))
    OrderLine.objects.filter(pk=second.pk).update(cost=Decimal("6.00"))
    refunded = returns.announce_return(
        order=order, quantities={first.pk: 2}, reason="too big", actor=SYSTEM, refund_method="cash"
    )
    returns.receive_customer_return(customer_return=refunded, actor=SYSTEM)
    broken = returns.announce_return(order=order, quantities={second.pk: 1}, reason="arrived broken", actor=SYSTEM)
    returns.receive_customer_return(customer_return=broken, actor=SYSTEM, write_offs={second.pk: "glass shattered"})
    returns.announce_return(order=order, quantities={first.pk: 1}, reason="not yet back", actor=SYSTEM)

    page = client_for(Role.OWNER).get(reverse("analytics:margins")).content.decode()
    assert 'data-testid="margin-revenue">20.00' in page  # 10.00 of the first line kept + 10.00 not refunded
    assert 'data-testid="margin-total">10.00' in page  # (10 − 4 × 1 still out) + (10 − 6 written off)

"""A split purchase's first parcel ships: the customer is told what is in it and what follows, with the date."""

import datetime

import pytest

from inventory import purchasing
from notifications.services import messaging, triggers
from orders.services import families
from orders.services.reservations import reserve_order
from shipments.services import custody
from tests.factories import WarehouseFactory
from tests.shipments.helpers import PACKER_ACTOR, courier_of, pack

from .helpers import SYSTEM, drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_the_first_parcel_of_a_split_purchase_says_the_rest_follows(tenant, mailoutbox):
    WarehouseFactory(tenant=tenant, code="MAIN")
    triggers.create_from_template(tenant=tenant, code="rest-follows")
    mug = stocked_product(tenant, name="Blue mug", on_hand=1)
    tea = stocked_product(tenant, name="Green tea", on_hand=0)
    due = datetime.date(2099, 3, 15)
    purchasing.create_purchase_order(
        tenant=tenant,
        supplier="Tea Co",
        warehouse_code="MAIN",
        lines=[purchasing.PurchaseLine(tea.sku, 5)],
        expected_at=due,
    )
    order = place_order(tenant, [(mug, 1), (tea, 1)], customer_email="ann@example.test")
    order = reserve_order(order=move(order, "confirmed"), actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    drain()
    mailoutbox.clear()
    order = pack(move(order, "assembling"))
    custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant))
    drain()
    [mail] = [m for m in mailoutbox if "on its way" in m.subject]
    assert "Blue mug × 1" in mail.body
    assert "The rest follows around 15 Mar 2099" in mail.body and "Green tea × 1" in mail.body
    assert child.number  # the part that follows is the split-off child


def test_a_whole_parcel_does_not_say_anything_follows(tenant, mailoutbox):
    triggers.create_from_template(tenant=tenant, code="rest-follows")
    order = place_order(tenant, [(stocked_product(tenant, on_hand=3), 1)], customer_email="bob@example.test")
    order = reserve_order(order=move(order, "confirmed"), actor=SYSTEM)
    order = pack(move(order, "assembling"))
    custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant))
    drain()
    assert not [m for m in mailoutbox if "on its way" in m.subject and "Part of" in m.subject]
    assert messaging.MessageTemplate.objects.filter(tenant=tenant, code="rest-follows").count() == 2

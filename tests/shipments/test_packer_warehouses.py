"""Packers limited to their warehouses: their queue holds only orders reserved there, and another warehouse's
order is refused at the station; a packer ticked nowhere packs everywhere."""

import pytest
from django.urls import reverse

from inventory import services as stock
from inventory.errors import InvalidQuantity
from oms import staff
from oms.actors import Actor
from oms.models import Membership, Role
from shipments import selectors
from shipments.errors import ScanRefused
from shipments.services import packing
from tests.factories import WarehouseFactory, make_member
from tests.orders.helpers import stocked_product

from .helpers import order_to_pack

pytestmark = pytest.mark.django_db


def test_a_packer_of_one_warehouse_sees_and_packs_only_its_orders(tenant, client_for):
    main, shop = WarehouseFactory(tenant=tenant, code="MAIN", priority=1), WarehouseFactory(tenant=tenant, code="SHOP")
    at_main = order_to_pack(tenant, lines=[(stocked_product(tenant, on_hand=5, warehouse=main), 1)])
    at_shop = order_to_pack(tenant, lines=[(stocked_product(tenant, on_hand=5, warehouse=shop), 1)])
    packer, other = make_member(tenant, Role.PACKER), make_member(tenant, Role.PACKER)
    stock.set_warehouse_staff(warehouse=shop, user_ids=[packer.pk])
    assert list(selectors.packing_queue(tenant=tenant, user=packer)) == [at_shop]
    assert set(selectors.packing_queue(tenant=tenant, user=other)) == {at_main, at_shop}  # ticked nowhere
    actor = Actor(user=packer, role=Role.PACKER, label=packer.username)
    line = at_main.lines.select_related("product").get()
    with pytest.raises(ScanRefused, match="packed at MAIN"):
        packing.scan_item(order=at_main, code=line.product.sku, actor=actor)
    shop_line = at_shop.lines.select_related("product").get()
    packing.scan_item(order=at_shop, code=shop_line.product.sku, actor=actor)


def test_admins_choose_who_works_at_a_warehouse(tenant, client_for):
    shop = WarehouseFactory(tenant=tenant, code="SHOP")
    packer, manager = make_member(tenant, Role.PACKER), make_member(tenant, Role.MANAGER)
    url = reverse("inventory:warehouse_edit", args=[shop.pk])
    admin = client_for(Role.ADMIN)
    assert f'value="{packer.pk}"' in admin.get(url).content.decode()
    form = {"name": shop.name, "priority": shop.priority, "is_active": "on", "packers": [str(packer.pk)]}
    assert admin.post(url, form).status_code == 302
    assert stock.warehouses_of(tenant=tenant, user=packer) == {shop.pk}
    with pytest.raises(InvalidQuantity, match="packers of this shop"):
        stock.set_warehouse_staff(warehouse=shop, user_ids=[manager.pk])
    admin.post(url, {**form, "packers": []})
    assert stock.warehouses_of(tenant=tenant, user=packer) is None


def test_a_packer_is_not_offered_an_order_partly_reserved_at_another_warehouse(tenant):
    main, shop = WarehouseFactory(tenant=tenant, code="MAIN", priority=1), WarehouseFactory(tenant=tenant, code="SHOP")
    both = order_to_pack(
        tenant,
        lines=[
            (stocked_product(tenant, on_hand=5, warehouse=main), 1),
            (stocked_product(tenant, on_hand=5, warehouse=shop), 1),
        ],
    )
    packer = make_member(tenant, Role.PACKER)
    stock.set_warehouse_staff(warehouse=shop, user_ids=[packer.pk])
    with pytest.raises(ScanRefused, match="packed at MAIN"):  # the station refuses it...
        packing.check_packable(both, packer)
    assert both not in selectors.packing_queue(tenant=tenant, user=packer)  # ...so the queue does not offer it


def test_a_packer_id_of_thousands_of_digits_is_refused_and_changes_nothing(tenant, client_for):
    shop = WarehouseFactory(tenant=tenant, code="SHOP")
    packer = make_member(tenant, Role.PACKER)
    stock.set_warehouse_staff(warehouse=shop, user_ids=[packer.pk])
    url = reverse("inventory:warehouse_edit", args=[shop.pk])
    answer = client_for(Role.ADMIN).post(url, {"name": "Renamed", "priority": 1, "packers": ["9" * 5000]})
    assert answer.status_code == 200 and "packers of this shop" in answer.content.decode()
    shop.refresh_from_db()
    assert shop.name != "Renamed" and stock.warehouses_of(tenant=tenant, user=packer) == {shop.pk}


def test_a_packer_moved_to_another_role_packs_at_every_warehouse(tenant):
    main, shop = WarehouseFactory(tenant=tenant, code="MAIN", priority=1), WarehouseFactory(tenant=tenant, code="SHOP")
    at_main = order_to_pack(tenant, lines=[(stocked_product(tenant, on_hand=5, warehouse=main), 1)])
    at_shop = order_to_pack(tenant, lines=[(stocked_product(tenant, on_hand=5, warehouse=shop), 1)])
    owner, packer = make_member(tenant, Role.OWNER), make_member(tenant, Role.PACKER)
    stock.set_warehouse_staff(warehouse=shop, user_ids=[packer.pk])
    # the warehouse screen offers packers only, so nobody could take a manager's old limit away there
    staff.change_role(
        membership=Membership.objects.get(user=packer), actor=owner, actor_role=Role.OWNER, role="manager"
    )
    assert stock.warehouses_of(tenant=tenant, user=packer) is None
    assert set(selectors.packing_queue(tenant=tenant, user=packer)) == {at_main, at_shop}
    line = at_main.lines.select_related("product").get()
    actor = Actor(user=packer, role=Role.MANAGER, label=packer.username)
    packing.scan_at_station(tenant=tenant, order_id=at_main.pk, code=line.product.sku, actor=actor)

"""Reorder points: a minimum per product and warehouse, an alert once per dip below it, and the "to reorder" list
counting what accepted orders need and what is on its way."""

import pytest
from django.urls import reverse

from inventory import purchasing, reorder, transfers
from inventory.errors import InvalidQuantity
from inventory.models import StockLevel, Warehouse
from inventory.tasks import sweep_low_stock
from notifications.models import Alert
from notifications.services import triggers
from oms import rls
from oms.models import Event, Role
from tests.factories import WarehouseFactory, make_member
from tests.notifications.helpers import drain
from tests.orders.helpers import move, place_order, stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def main(tenant):
    return WarehouseFactory(tenant=tenant, code="MAIN")


def test_a_dip_below_the_minimum_is_raised_once_and_watched_again_after(tenant, main):
    tea = stocked_product(tenant, sku="TEA", on_hand=12, warehouse=main)
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=main, minimum=10, quantity=48)
    assert reorder.sweep_low_stock(tenant=tenant) == 0
    from inventory import services

    services.write_off(tenant=tenant, warehouse=main, product=tea, quantity=5, reason="damaged")
    assert reorder.sweep_low_stock(tenant=tenant) == 1
    assert reorder.sweep_low_stock(tenant=tenant) == 0  # once per dip
    event = Event.objects.get(kind="stock.low")
    assert event.payload["sku"] == "TEA" and event.payload["warehouse"] == "MAIN"
    assert (event.payload["available"], event.payload["reorder_point"], event.payload["reorder_quantity"]) == (
        7,
        10,
        48,
    )
    services.receive(tenant=tenant, warehouse=main, lines=[(tea, 10)])
    assert reorder.sweep_low_stock(tenant=tenant) == 0
    assert StockLevel.objects.get(product=tea).low_since is None  # back above: watched again
    services.write_off(tenant=tenant, warehouse=main, product=tea, quantity=15, reason="expired")
    assert reorder.sweep_low_stock(tenant=tenant) == 1


def test_the_ready_made_trigger_alerts_the_buyer(tenant, main):
    manager = make_member(tenant, Role.MANAGER)
    triggers.create_from_template(tenant=tenant, code="low-stock-alert")
    tea = stocked_product(tenant, sku="TEA", on_hand=3, warehouse=main)
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=main, minimum=5, quantity=None)
    assert sweep_low_stock() == 1
    rls.bind(tenant.pk)
    drain()
    alert = Alert.objects.get(user=manager)
    assert "below its minimum" in alert.title


def test_the_list_counts_what_orders_need_and_what_is_coming(tenant, main, client_for):
    tea = stocked_product(tenant, sku="TEA", on_hand=4, warehouse=main)
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=main, minimum=3, quantity=20)
    assert reorder.to_reorder(tenant=tenant) == []  # 4 available, minimum 3
    move(place_order(tenant, [(tea, 6)]), "confirmed")  # accepted, not reserved: needs 6
    [row] = reorder.to_reorder(tenant=tenant)
    assert (row.needed, row.coming, row.short_by, row.suggested) == (6, 0, 5, 20)
    purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 2)]
    )
    [row] = reorder.to_reorder(tenant=tenant)
    assert (row.coming, row.short_by) == (2, 3)
    page = client_for(Role.MANAGER).get(reverse("inventory:reorder")).content.decode()
    assert "TEA" in page and 'data-testid="draft-po"' in page
    assert client_for(Role.PACKER).get(reverse("inventory:reorder")).status_code == 403
    draft = client_for(Role.MANAGER).get(reverse("inventory:purchase_new"), {"warehouse": "MAIN", "lines": "TEA 20"})
    assert "TEA 20" in draft.content.decode()


def test_transfers_on_the_way_count_as_coming(tenant, main):
    WarehouseFactory(tenant=tenant, code="SHOP")
    tea = stocked_product(tenant, sku="TEA", on_hand=10, warehouse=main)
    transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("TEA", 4)])
    shop = Warehouse.objects.get(code="SHOP")
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=shop, minimum=5, quantity=10)
    [row] = reorder.to_reorder(tenant=tenant)
    assert (row.level.warehouse.code, row.coming, row.short_by) == ("SHOP", 4, 1)


def test_minimums_are_set_on_the_product_page_and_bad_values_refused(tenant, main, client_for):
    tea = stocked_product(tenant, sku="TEA", on_hand=10, warehouse=main)
    url = reverse("inventory:reorder_point", args=[tea.pk])
    manager = client_for(Role.MANAGER)
    manager.post(url, {"reorder-warehouse": main.pk, "reorder-minimum": "4", "reorder-quantity": "12"})
    level = StockLevel.objects.get(product=tea)
    assert (level.reorder_point, level.reorder_quantity) == (4, 12)
    bad = manager.post(url, {"reorder-warehouse": main.pk, "reorder-minimum": "-1"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and StockLevel.objects.get(product=tea).reorder_point == 4
    with pytest.raises(InvalidQuantity, match="Set a minimum first"):
        reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=main, minimum=None, quantity=5)
    manager.post(url, {"reorder-warehouse": main.pk, "reorder-minimum": ""})
    assert StockLevel.objects.get(product=tea).reorder_point is None
    assert client_for(Role.PACKER).post(url, {"reorder-warehouse": main.pk}).status_code == 403
    page = manager.get(reverse("inventory:product", args=[tea.pk])).content.decode()
    assert 'data-testid="reorder-form"' in page


@pytest.fixture
def two_warehouses(tenant):
    return WarehouseFactory(tenant=tenant, code="MAIN", priority=1), WarehouseFactory(
        tenant=tenant, code="SHOP", priority=2
    )


def suggested(tenant):
    return {
        (row.level.warehouse.code, row.level.product.sku): row.suggested for row in reorder.to_reorder(tenant=tenant)
    }


def test_what_is_on_its_way_refills_only_the_warehouse_it_travels_to(tenant, two_warehouses):
    main, shop = two_warehouses
    tea = stocked_product(tenant, sku="TEA", on_hand=8, warehouse=main)
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=main, minimum=5, quantity=10)
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=shop, minimum=5, quantity=10)
    transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("TEA", 6)])
    assert suggested(tenant) == {("MAIN", "TEA"): 10}  # MAIN holds 2; the 6 travelling refill SHOP, not MAIN
    purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="SHOP", lines=[purchasing.PurchaseLine("TEA", 20)]
    )
    assert suggested(tenant) == {("MAIN", "TEA"): 10}  # bought into SHOP: MAIN is still short


def test_a_waiting_order_is_counted_once_not_against_every_warehouse(tenant, two_warehouses):
    from inventory import services as stock

    main, shop = two_warehouses
    tea = stocked_product(tenant, sku="TEA", on_hand=10, warehouse=main)
    stock.receive(tenant=tenant, warehouse=shop, lines=[(tea, 10)])
    for warehouse in two_warehouses:
        reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=warehouse, minimum=5, quantity=0)
    move(place_order(tenant, [(tea, 8)]), "confirmed")  # accepted, not reserved yet
    # the 8 units come from MAIN first, as a reservation would take them: MAIN 2 of 5, SHOP untouched
    assert suggested(tenant) == {("MAIN", "TEA"): 3}


def test_what_waiting_orders_need_is_not_charged_to_a_switched_off_warehouse(tenant, two_warehouses):
    """Reservation skips a switched-off warehouse, so its units serve no waiting order: the need falls on the
    warehouses that can serve it."""
    from inventory import services as stock

    main, shop = two_warehouses
    tea = stocked_product(tenant, sku="TEA", on_hand=10, warehouse=main)
    for warehouse in two_warehouses:
        reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=warehouse, minimum=5, quantity=0)
    stock.update_warehouse(warehouse=main, name=main.name, priority=main.priority, is_active=False)
    move(place_order(tenant, [(tea, 8)]), "confirmed")  # accepted, waiting: nothing active can serve it
    # SHOP: 0 on hand, 8 wanted, minimum 5 → 13; MAIN's 10 cannot go to the order
    assert suggested(tenant) == {("SHOP", "TEA"): 13}


def test_a_switched_off_warehouse_is_not_offered_a_draft_that_would_buy_for_another(tenant, two_warehouses, client_for):
    """Purchase orders go to active warehouses only: a draft for a switched-off one opened the form with another
    warehouse chosen in its place."""
    from inventory import services as stock

    main, shop = two_warehouses
    tea = stocked_product(tenant, sku="TEA", on_hand=1, warehouse=main)
    reorder.set_reorder_point(tenant=tenant, product=tea, warehouse=main, minimum=5, quantity=10)
    stock.update_warehouse(warehouse=main, name=main.name, priority=main.priority, is_active=False)
    assert suggested(tenant) == {}
    page = client_for(Role.MANAGER).get(reverse("inventory:reorder"))
    assert "warehouse=MAIN" not in page.content.decode()

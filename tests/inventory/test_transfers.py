"""Transfers between warehouses: units leave the source at once, can be sold nowhere while on the way, arrive by
scan or form, and both ends are in the ledger."""

import pytest
from django.urls import reverse

from inventory import transfers
from inventory.errors import InsufficientStock, InvalidQuantity, UnknownWarehouse
from inventory.models import MoveKind, StockLevel, StockMove, Transfer, TransferState
from oms.models import Event, Role
from tests.factories import WarehouseFactory
from tests.orders.helpers import stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_warehouses(tenant):
    return WarehouseFactory(tenant=tenant, code="MAIN"), WarehouseFactory(tenant=tenant, code="SHOP")


def level(product, warehouse):
    return StockLevel.objects.filter(product=product, warehouse=warehouse).first()


def test_units_leave_the_source_travel_unsellable_and_arrive_at_the_destination(tenant, two_warehouses):
    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=10, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 4)])
    assert level(mug, main).on_hand == 6 and level(mug, shop) is None  # on the way: in neither warehouse
    assert transfers.in_transit(tenant=tenant) == {mug.pk: 4}
    transfers.receive_transfer(transfer=transfer, lines=[("MUG", 3)])
    transfer.refresh_from_db()
    assert transfer.state == TransferState.IN_TRANSIT and level(mug, shop).on_hand == 3
    transfers.receive_scanned_unit(transfer=transfer, code="MUG")
    transfer.refresh_from_db()
    assert transfer.state == TransferState.RECEIVED and level(mug, shop).on_hand == 4
    moves = StockMove.objects.filter(transfer=transfer)
    assert sorted((m.kind, m.warehouse.code, m.quantity) for m in moves) == [
        (MoveKind.TRANSFER_IN, "SHOP", 1),
        (MoveKind.TRANSFER_IN, "SHOP", 3),
        (MoveKind.TRANSFER_OUT, "MAIN", -4),
    ]
    assert Event.objects.filter(kind="stock.received").exists()  # waiting orders are served as for any receipt
    with pytest.raises(transfers.TransferClosed):
        transfers.receive_scanned_unit(transfer=transfer, code="MUG")


def test_only_available_units_can_be_sent_and_a_refusal_changes_nothing(tenant, two_warehouses):
    main, _ = two_warehouses
    stocked_product(tenant, sku="MUG", on_hand=2, warehouse=main)
    with pytest.raises(InsufficientStock, match="Only 2 unit"):
        transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 3)])
    assert not Transfer.objects.exists() and not StockMove.objects.filter(kind=MoveKind.TRANSFER_OUT).exists()
    with pytest.raises(InvalidQuantity, match="two different"):
        transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="MAIN", lines=[("MUG", 1)])
    with pytest.raises(UnknownWarehouse):
        transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="NOPE", lines=[("MUG", 1)])


def test_more_than_is_on_the_way_is_refused(tenant, two_warehouses):
    main, _ = two_warehouses
    stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 2)])
    with pytest.raises(InvalidQuantity, match="still on the way"):
        transfers.receive_transfer(transfer=transfer, lines=[("MUG", 3)])
    with pytest.raises(InvalidQuantity, match="is not on"):
        transfers.receive_scanned_unit(transfer=transfer, code="TEA")


def test_screens_send_and_receive_with_roles(tenant, two_warehouses, client_for):
    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main)
    form = {"from_warehouse": "MAIN", "to_warehouse": "SHOP", "lines": "MUG 2", "note": "window display"}
    assert client_for(Role.PACKER).post(reverse("inventory:transfer_new"), form).status_code == 403
    refused = client_for(Role.MANAGER).post(reverse("inventory:transfer_new"), {**form, "lines": "MUG 99"})
    assert refused.status_code == 200 and "Only 5 unit" in refused.content.decode()
    created = client_for(Role.MANAGER).post(reverse("inventory:transfer_new"), form)
    transfer = Transfer.objects.get()
    assert created["Location"] == reverse("inventory:transfer", args=[transfer.pk])
    packer = client_for(Role.PACKER)
    answer = packer.post(
        reverse("inventory:transfer_scan", args=[transfer.pk]), {"code": "MUG"}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200 and "1 of 2" in answer.content.decode()
    line = transfer.lines.get()
    packer.post(reverse("inventory:transfer_receive", args=[transfer.pk]), {f"qty-{line.pk}": "1"})
    transfer.refresh_from_db()
    assert transfer.state == TransferState.RECEIVED and level(mug, shop).on_hand == 2
    listing = packer.get(reverse("inventory:transfers")).content.decode()
    assert transfer.number in listing and "New transfer" not in listing


def test_a_waiting_line_shows_when_a_transfer_brings_its_units(tenant, two_warehouses, client_for):
    import datetime

    from orders.services.reservations import reserve_order
    from tests.orders.helpers import SYSTEM, move, place_order

    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=0, warehouse=main)
    stocked_product(tenant, sku="MUG-SHOP", on_hand=0, warehouse=shop)
    from inventory import services

    services.receive(tenant=tenant, warehouse=shop, lines=[(mug, 3)])
    transfers.create_transfer(
        tenant=tenant, from_code="SHOP", to_code="MAIN", lines=[("MUG", 3)], expected_at=datetime.date(2099, 1, 10)
    )
    assert transfers.expected_arrivals(tenant=tenant, product_ids=[mug.pk]) == {mug.pk: (3, datetime.date(2099, 1, 10))}
    order = reserve_order(order=move(place_order(tenant, [(mug, 2)]), "confirmed"), actor=SYSTEM)
    page = client_for(Role.MANAGER).get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "expected 10 Jan" in page


def test_a_cancelled_transfer_sends_the_rest_back_to_the_source(tenant, two_warehouses):
    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=10, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 4)])
    transfers.receive_transfer(transfer=transfer, lines=[("MUG", 1)])
    with pytest.raises(InvalidQuantity, match="Say why"):
        transfers.cancel_transfer(transfer=transfer, reason="  ")
    assert Transfer.objects.get().state == TransferState.IN_TRANSIT  # a refusal changes nothing
    transfers.cancel_transfer(transfer=transfer, reason="van broke down", actor_label="Maria")
    transfer.refresh_from_db()
    assert transfer.state == TransferState.CANCELLED and transfer.closed_reason == "van broke down"
    assert level(mug, main).on_hand == 9 and level(mug, shop).on_hand == 1  # 3 back, the 1 that arrived stays
    assert transfers.in_transit(tenant=tenant) == {}
    back = StockMove.objects.get(transfer=transfer, warehouse=main, kind=MoveKind.TRANSFER_IN)
    assert back.quantity == 3 and "cancelled" in back.reason
    with pytest.raises(transfers.TransferClosed, match="closed"):
        transfers.receive_scanned_unit(transfer=transfer, code="MUG")
    with pytest.raises(transfers.TransferClosed):
        transfers.close_short(transfer=transfer, reason="again")


def test_units_lost_on_the_way_stop_counting_as_coming(tenant, two_warehouses):
    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=10, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 4)])
    assert transfers.expected_arrivals(tenant=tenant, product_ids=[mug.pk])[mug.pk][0] == 4
    transfers.close_short(transfer=transfer, reason="pallet lost by the haulier")
    transfer.refresh_from_db()
    assert transfer.state == TransferState.CLOSED_SHORT
    assert level(mug, main).on_hand == 6 and level(mug, shop) is None  # nothing arrives anywhere
    assert transfers.in_transit(tenant=tenant) == {}
    assert mug.pk not in transfers.expected_arrivals(tenant=tenant, product_ids=[mug.pk])


def test_ending_a_transfer_on_screen_takes_a_buyer_and_a_reason(tenant, two_warehouses, client_for):
    main, _ = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=5, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 2)])
    url = reverse("inventory:transfer_close", args=[transfer.pk])
    assert client_for(Role.PACKER).post(url, {"how": "cancel", "reason": "x"}).status_code == 403
    manager = client_for(Role.MANAGER)
    page = manager.get(reverse("inventory:transfer", args=[transfer.pk])).content.decode()
    assert 'data-testid="transfer-end"' in page
    assert (
        'data-testid="transfer-end"'
        not in client_for(Role.PACKER).get(reverse("inventory:transfer", args=[transfer.pk])).content.decode()
    )  # a packer receives but does not end transfers
    for bad in ({"how": "cancel", "reason": ""}, {"how": "burn", "reason": "why not"}):
        answer = manager.post(url, bad, HTTP_HX_REQUEST="true")
        assert answer.status_code == 200 and Transfer.objects.get().state == TransferState.IN_TRANSIT
        assert 'data-testid="transfer-end" open' in answer.content.decode()  # the form stays open with its message
    answer = manager.post(url, {"how": "cancel", "reason": "not needed after all"}, HTTP_HX_REQUEST="true")
    text = answer.content.decode()
    assert "back at MAIN" in text and "not needed after all" in text
    assert level(mug, main).on_hand == 5
    other = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 1)])
    answer = manager.post(reverse("inventory:transfer_close", args=[other.pk]), {"how": "lost", "reason": "stolen"})
    assert answer.status_code == 302
    assert Transfer.objects.get(pk=other.pk).state == TransferState.CLOSED_SHORT


def test_a_quantity_of_thousands_of_digits_received_by_form_is_refused_in_words(tenant, two_warehouses, client_for):
    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=10, warehouse=main)
    transfer = transfers.create_transfer(tenant=tenant, from_code="MAIN", to_code="SHOP", lines=[("MUG", 4)])
    line = transfer.lines.get()
    answer = client_for(Role.MANAGER).post(
        reverse("inventory:transfer_receive", args=[transfer.pk]),
        {f"qty-{line.pk}": "9" * 5000},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert "Quantities must be whole numbers from 0 to 1,000,000." in answer.content.decode()
    assert level(mug, shop) is None


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_an_arrival_date_in_the_past_or_a_century_ahead_is_refused_and_sends_nothing(
    tenant, two_warehouses, client_for, day
):
    main, shop = two_warehouses
    mug = stocked_product(tenant, sku="MUG", on_hand=10, warehouse=main)
    form = {"from_warehouse": "MAIN", "to_warehouse": "SHOP", "lines": "MUG 4", "expected_at": day}
    answer = client_for(Role.MANAGER).post(reverse("inventory:transfer_new"), form)
    html = answer.content.decode()
    assert answer.status_code == 200 and ("has passed" in html or "check the year" in html)
    assert not Transfer.objects.exists() and level(mug, main).on_hand == 10

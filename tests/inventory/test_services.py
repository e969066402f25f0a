from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from inventory import services as stock
from inventory.errors import DuplicateBarcode, DuplicateSku, DuplicateWarehouse, InsufficientStock, InvalidQuantity
from inventory.models import MoveKind, Product, Reservation, StockMove
from oms import rls
from oms.errors import DomainError

from .helpers import level, lines_for, order_for, product, reserved_sum, snapshot, stocked, warehouse

pytestmark = pytest.mark.django_db


def line_of(order):
    return order.lines.get()


def reserve(tenant, *demands, warehouse_ids=None):
    with transaction.atomic():
        return stock.reserve(tenant=tenant, demands=list(demands), warehouse_ids=warehouse_ids)


def demand(order, quantity=None):
    line = line_of(order)
    return stock.Demand(line_id=line.pk, product_id=line.product_id, quantity=quantity or line.quantity)


# --- refusals write nothing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001, 1.5, "3", True])
def test_receipt_of_a_bad_quantity_is_refused_and_writes_nothing(tenant, quantity):
    item, main = stocked(tenant, 2)
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        stock.receive(tenant=tenant, warehouse=main, lines=[(item, quantity)])
    assert snapshot() == before


def test_receipt_with_one_bad_line_writes_none_of_its_lines(tenant):
    item, main = stocked(tenant, 2)
    other = product(tenant)
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        stock.receive(tenant=tenant, warehouse=main, lines=[(other, 5), (item, 0)])
    assert snapshot() == before


@pytest.mark.parametrize("quantity", [0, -2])
def test_write_off_of_a_bad_quantity_is_refused(tenant, quantity):
    item, main = stocked(tenant, 5)
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        stock.write_off(tenant=tenant, warehouse=main, product=item, quantity=quantity, reason="x")
    assert snapshot() == before


def test_write_off_beyond_available_is_refused_and_writes_nothing(tenant):
    item, main = stocked(tenant, 5)
    reserve(tenant, demand(order_for(tenant, item, 2)))
    before = snapshot()
    with pytest.raises(InsufficientStock, match="Only 3 unit"):
        stock.write_off(tenant=tenant, warehouse=main, product=item, quantity=4, reason="broken")
    assert snapshot() == before


def test_write_off_in_a_warehouse_without_stock_is_refused(tenant):
    item, _ = stocked(tenant, 5)
    empty = warehouse(tenant, "EMPTY")
    with pytest.raises(InsufficientStock):
        stock.write_off(tenant=tenant, warehouse=empty, product=item, quantity=1, reason="x")
    assert not StockMove.objects.filter(warehouse=empty).exists()


@pytest.mark.parametrize("counted", [-1, 1_000_001])
def test_adjustment_to_a_bad_count_is_refused(tenant, counted):
    item, main = stocked(tenant, 5)
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        stock.adjust(tenant=tenant, warehouse=main, product=item, counted=counted, reason="count")
    assert snapshot() == before


def test_adjustment_to_the_same_count_writes_no_movement(tenant):
    item, main = stocked(tenant, 5)
    before = snapshot()
    assert stock.adjust(tenant=tenant, warehouse=main, product=item, counted=5, reason="count") is None
    assert snapshot() == before


def test_adjustment_to_zero_is_allowed(tenant):
    item, main = stocked(tenant, 5)
    move = stock.adjust(tenant=tenant, warehouse=main, product=item, counted=0, reason="all gone")
    assert (move.kind, move.quantity) == (MoveKind.ADJUSTMENT, -5)
    assert level(item, main).on_hand == 0


def test_stock_of_another_tenant_cannot_be_touched_through_a_service(tenant, other_tenant):
    theirs, their_warehouse = stocked(other_tenant, 5)
    ours = warehouse(tenant, "OURS")
    before = snapshot()
    with pytest.raises(DomainError):
        stock.receive(tenant=tenant, warehouse=ours, lines=[(theirs, 1)])
    with pytest.raises(DomainError):
        stock.write_off(tenant=tenant, warehouse=their_warehouse, product=theirs, quantity=1, reason="x")
    assert snapshot() == before


# --- catalogue -------------------------------------------------------------------------------------------------


def test_create_product_refuses_duplicates_per_tenant(tenant, other_tenant):
    stock.create_product(tenant=tenant, sku="A-1", name="A", price=Decimal("1.00"), barcode="123")
    with pytest.raises(DuplicateSku):
        stock.create_product(tenant=tenant, sku="A-1", name="B", price=Decimal("1.00"))
    with pytest.raises(DuplicateBarcode):
        stock.create_product(tenant=tenant, sku="B-1", name="B", price=Decimal("1.00"), barcode="123")
    with rls.tenant_context(other_tenant.pk):
        stock.create_product(tenant=other_tenant, sku="A-1", name="A", price=Decimal("1.00"), barcode="123")
        assert Product.objects.filter(sku="A-1").count() == 1  # the other shop's own
    assert Product.objects.filter(sku="A-1").count() == 1


def test_a_barcode_taken_between_the_check_and_the_insert_is_reported_as_a_duplicate_barcode(tenant, monkeypatch):
    """A concurrent create wins the race: the constraint it broke names the problem, not a guess."""
    stock.create_product(tenant=tenant, sku="A-1", name="A", price=Decimal("1.00"), barcode="123")
    real_filter = Product.objects.filter
    monkeypatch.setattr(  # the pre-check sees the shop as it was before the other create committed
        Product.objects, "filter", lambda **kw: real_filter(pk=-1) if "barcode" in kw else real_filter(**kw)
    )
    with pytest.raises(DuplicateBarcode):
        stock.create_product(tenant=tenant, sku="B-1", name="B", price=Decimal("1.00"), barcode="123")


def test_a_violation_other_than_a_duplicate_is_not_reported_as_a_duplicate(tenant, monkeypatch):
    monkeypatch.setattr(stock, "_check_product_fields", lambda **kw: None)  # let a bad price reach the database
    with pytest.raises(IntegrityError, match="product_price_not_negative"):
        stock.create_product(tenant=tenant, sku="A-2", name="A", price=Decimal("-1.00"))


@pytest.mark.parametrize(
    "fields",
    [
        {"sku": "", "name": "x", "price": Decimal("1")},
        {"sku": "A B", "name": "x", "price": Decimal("1")},
        {"sku": "A", "name": " ", "price": Decimal("1")},
        {"sku": "A", "name": "x", "price": Decimal("-0.01")},
        {"sku": "A", "name": "x", "price": Decimal("1.001")},
        {"sku": "A", "name": "x", "price": Decimal("NaN")},
        {"sku": "A", "name": "x", "price": 1.5},
    ],
)
def test_create_product_refuses_bad_fields(tenant, fields):
    with pytest.raises(DomainError):
        stock.create_product(tenant=tenant, **fields)
    assert not Product.objects.exists()


def test_warehouse_codes_are_unique_per_tenant(tenant, other_tenant):
    stock.create_warehouse(tenant=tenant, code="MAIN", name="Main")
    with pytest.raises(DuplicateWarehouse):
        stock.create_warehouse(tenant=tenant, code="MAIN", name="Again")
    with rls.tenant_context(other_tenant.pk):
        stock.create_warehouse(tenant=other_tenant, code="MAIN", name="Theirs")


# --- reservations ----------------------------------------------------------------------------------------------


def test_reserve_takes_what_is_available_and_no_more(tenant):
    item, main = stocked(tenant, 3)
    order = order_for(tenant, item, 5)
    assert reserve(tenant, demand(order)) == {line_of(order).pk: 3}
    assert level(item, main).reserved == 3
    assert reserve(tenant, demand(order, 2)) == {}
    assert reserved_sum(product=item) == 3


def test_reserve_prefers_warehouses_by_priority_then_by_preference(tenant):
    item, near = stocked(tenant, 2, where=warehouse(tenant, "NEAR", priority=10))
    far = warehouse(tenant, "FAR", priority=20)
    stock.receive(tenant=tenant, warehouse=far, lines=[(item, 5)])
    first = order_for(tenant, item, 3)
    reserve(tenant, demand(first))
    assert (level(item, near).reserved, level(item, far).reserved) == (2, 1)
    second = order_for(tenant, item, 1)
    reserve(tenant, demand(second), warehouse_ids=[far.pk])
    assert Reservation.objects.get(line_id=line_of(second).pk).warehouse == far


def test_reserve_skips_switched_off_warehouses(tenant):
    item, main = stocked(tenant, 5, where=warehouse(tenant, "OFF", is_active=False))
    order = order_for(tenant, item, 1)
    assert reserve(tenant, demand(order)) == {}
    assert level(item, main).reserved == 0


def test_reserve_serves_demands_in_order_when_two_lines_want_the_same_product(tenant):
    item, main = stocked(tenant, 4)
    first, second = order_for(tenant, item, 3), order_for(tenant, item, 3)
    result = reserve(tenant, demand(first), demand(second))
    assert result == {line_of(first).pk: 3, line_of(second).pk: 1}
    assert level(item, main).reserved == 4


def test_reserve_adds_to_an_existing_reservation_of_the_line(tenant):
    item, main = stocked(tenant, 5)
    order = order_for(tenant, item, 4)
    reserve(tenant, demand(order, 1))
    reserve(tenant, demand(order, 2))
    assert list(Reservation.objects.filter(line_id=line_of(order).pk).values_list("quantity", flat=True)) == [3]


def test_reserve_ignores_other_tenants_stock(tenant, other_tenant):
    theirs, _ = stocked(other_tenant, 5)
    item, _ = stocked(tenant, 0)
    order = order_for(tenant, item, 1)
    line = line_of(order)
    assert reserve(tenant, stock.Demand(line.pk, theirs.pk, 1)) == {}


def test_release_gives_units_back(tenant):
    item, main = stocked(tenant, 5)
    order = order_for(tenant, item, 4)
    reserve(tenant, demand(order))
    with transaction.atomic():
        assert stock.release(tenant=tenant, line_ids=[line_of(order).pk], quantity_by_line={line_of(order).pk: 1}) == {
            line_of(order).pk: 1
        }
    assert level(item, main).reserved == 3
    with transaction.atomic():
        stock.release(tenant=tenant, line_ids=[line_of(order).pk])
    assert level(item, main).reserved == 0
    assert not Reservation.objects.exists()


def test_consume_ships_reserved_units_through_the_ledger(tenant):
    item, main = stocked(tenant, 5)
    order = order_for(tenant, item, 2)
    reserve(tenant, demand(order))
    with transaction.atomic():
        moves = stock.consume(tenant=tenant, line_ids=[line_of(order).pk])
    assert [(m.kind, m.quantity, m.order_line_id) for m in moves] == [(MoveKind.SHIPMENT, -2, line_of(order).pk)]
    lv = level(item, main)
    assert (lv.on_hand, lv.reserved) == (3, 0)
    assert not Reservation.objects.exists()


def test_restock_return_puts_units_back_on_hand(tenant):
    item, main = stocked(tenant, 1)
    with transaction.atomic():
        move = stock.restock_return(tenant=tenant, warehouse=main, product=item, quantity=2)
    assert (move.kind, move.quantity) == (MoveKind.RETURN, 2)
    assert level(item, main).on_hand == 3


def test_reserve_takes_from_the_preferred_warehouse_first_then_the_next(tenant):
    item, near = stocked(tenant, 2, where=warehouse(tenant, "NEAR", priority=10))
    far = warehouse(tenant, "FAR", priority=20)
    stock.receive(tenant=tenant, warehouse=far, lines=[(item, 5)])
    order = order_for(tenant, item, 4)
    assert reserve(tenant, demand(order)) == {line_of(order).pk: 4}
    assert (level(item, near).reserved, level(item, far).reserved) == (2, 2)


def test_reserve_in_a_rolled_back_transaction_leaves_nothing_and_the_next_one_works(tenant):
    item, main = stocked(tenant, 5)
    first, second = order_for(tenant, item, 1), order_for(tenant, item, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        stock.reserve(tenant=tenant, demands=[demand(first)])
        raise RuntimeError("roll back")
    assert level(item, main).reserved == 0
    assert not Reservation.objects.exists()
    assert reserve(tenant, demand(first)) == {line_of(first).pk: 1}
    assert reserve(tenant, demand(second)) == {line_of(second).pk: 1}
    assert level(item, main).reserved == 2


@pytest.mark.parametrize("prepared", [True, False])
def test_a_reservation_is_one_statement(tenant, settings, django_assert_num_queries, prepared):
    settings.DATABASE_PREPARED_STATEMENTS = prepared
    item, main = stocked(tenant, 5)
    other, _ = stocked(tenant, 5, where=main)
    whole, two_lines = order_for(tenant, item, 3), lines_for(tenant, [item, other], 1)
    needed, line_id = demand(whole), line_of(whole).pk
    with django_assert_num_queries(1):  # one demand served whole
        assert stock.reserve(tenant=tenant, demands=[needed]) == {line_id: 3}
    with django_assert_num_queries(1):  # several demands
        reserved = stock.reserve(tenant=tenant, demands=[stock.Demand(ln.pk, ln.product_id, 1) for ln in two_lines])
    assert reserved == {ln.pk: 1 for ln in two_lines}
    assert (level(item, main).reserved, level(other, main).reserved) == (4, 1)


def test_one_demand_skips_a_preferred_warehouse_without_stock_and_takes_it_whole_from_the_next(tenant):
    item, near = stocked(tenant, 1, where=warehouse(tenant, "NEAR", priority=10))
    far = warehouse(tenant, "FAR", priority=20)
    stock.receive(tenant=tenant, warehouse=far, lines=[(item, 5)])
    first, second = order_for(tenant, item, 1), order_for(tenant, item, 3)
    assert reserve(tenant, demand(first)) == {line_of(first).pk: 1}
    assert reserve(tenant, demand(second)) == {line_of(second).pk: 3}
    assert (level(item, near).reserved, level(item, far).reserved) == (1, 3)
    assert list(Reservation.objects.filter(line_id=line_of(second).pk).values_list("warehouse__code", "quantity")) == [
        ("FAR", 3)
    ]

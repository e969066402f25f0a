"""Removing lines: inventory keeps line ids without a foreign key, so the orders services clean up after them."""

import pytest

from inventory import services as stock
from inventory.models import Reservation, StockLevel, StockMove
from orders.services import editing, families, reservations
from tests.factories import WarehouseFactory

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_removing_a_reserved_line_gives_its_units_back_and_leaves_no_reservation(tenant):
    kept, removed = stocked_product(tenant, on_hand=5), stocked_product(tenant, on_hand=5)
    order = place_order(tenant, [(kept, 1), (removed, 3)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    line = order.lines.get(product=removed)
    line_id = line.pk
    assert Reservation.objects.filter(line_id=line_id).exists()
    editing.remove_line(line=line, actor=SYSTEM)
    assert not Reservation.objects.filter(line_id=line_id).exists()
    assert StockLevel.objects.get(product=removed).reserved == 0
    assert StockLevel.objects.get(product=kept).reserved == 1


def test_a_removed_line_leaves_no_id_in_the_ledger(tenant):
    """What the foreign key's SET_NULL did before: the movement stays, without the deleted line's id."""
    first, second = stocked_product(tenant), stocked_product(tenant)
    order = place_order(tenant, [(first, 1), (second, 1)])
    line = order.lines.get(product=second)
    line_id = line.pk
    warehouse = WarehouseFactory(tenant=tenant)
    move = stock.restock_return(tenant=tenant, warehouse=warehouse, product=second, quantity=1, order_line_id=line_id)
    editing.remove_line(line=line, actor=SYSTEM)
    move.refresh_from_db()
    assert move.order_line_id is None and move.quantity == 1
    assert not StockMove.objects.filter(order_line_id=line_id).exists()


def test_a_split_forgets_the_lines_it_moves_away_whole(tenant):
    reserved, absent = stocked_product(tenant, on_hand=5), stocked_product(tenant, on_hand=0)
    order = place_order(tenant, [(reserved, 1), (absent, 2)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    gone = order.lines.get(product=absent)
    warehouse = WarehouseFactory(tenant=tenant)
    move = stock.restock_return(tenant=tenant, warehouse=warehouse, product=absent, quantity=1, order_line_id=gone.pk)
    families.split_unavailable(order=order, actor=SYSTEM)
    assert not order.lines.filter(pk=gone.pk).exists()
    move.refresh_from_db()
    assert move.order_line_id is None


def test_a_line_split_off_while_its_form_was_open_is_refused_and_changes_nothing(tenant):
    from decimal import Decimal

    from orders.errors import EditNotAllowed
    from orders.models import ActivityKind

    reserved, absent = stocked_product(tenant, on_hand=5), stocked_product(tenant, on_hand=0)
    order = place_order(tenant, [(reserved, 1), (absent, 2)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    shown = order.lines.get(product=absent)  # as the order page read it, before another manager split the order
    child = families.split_unavailable(order=order, actor=SYSTEM)
    with pytest.raises(EditNotAllowed):
        editing.update_line(line=shown, quantity=2, price=Decimal("5.00"), actor=SYSTEM)
    with pytest.raises(EditNotAllowed):
        editing.remove_line(line=shown, actor=SYSTEM)
    order.refresh_from_db()
    assert [(ln.product_id, ln.quantity) for ln in order.lines.all()] == [(reserved.pk, 1)]
    assert not order.activities.filter(kind=ActivityKind.LINE_REMOVED).exists()
    assert child.lines.get().quantity == 2

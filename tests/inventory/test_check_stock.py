import pytest
from django.core.management import CommandError, call_command

from inventory import services as stock
from inventory.models import Reservation, StockLevel
from oms import rls
from orders.models import OrderLine

from .helpers import SYSTEM, order_for, stocked

pytestmark = pytest.mark.django_db


def test_check_stock_reports_ok_when_every_level_matches_its_ledger(tenant, other_tenant, capsys):
    stocked(tenant, 5)
    stocked(other_tenant, 2)
    call_command("check_stock")
    out = capsys.readouterr().out
    assert out.startswith("OK") and "2 stock level(s) in 2 tenant(s)" in out


def test_check_stock_prints_drift_and_fails(tenant, capsys):
    item, where = stocked(tenant, 5, sku="DRIFT-1")
    StockLevel.objects.filter(product=item).update(on_hand=7)  # a write that bypassed the ledger
    with pytest.raises(CommandError, match="1 stock level"):
        call_command("check_stock")
    out = capsys.readouterr().out
    assert "DRIFT shop-a MAIN DRIFT-1: on hand 7, ledger 5 (+2)" in out


def test_check_stock_of_one_tenant_ignores_the_others(tenant, other_tenant, capsys):
    item, _ = stocked(other_tenant, 5)
    with rls.tenant_context(other_tenant.pk):
        StockLevel.objects.filter(product=item).update(on_hand=1)
    stocked(tenant, 3)
    call_command("check_stock", tenant=tenant.slug)
    assert "OK: 1 stock level(s) in 1 tenant(s)" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("check_stock", tenant=other_tenant.slug)


def test_check_stock_with_an_unknown_tenant_fails_clearly():
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        call_command("check_stock", tenant="nope")


def reserved_order(tenant, units=3, on_hand=5):
    from orders.services.reservations import reserve_order

    item, where = stocked(tenant, on_hand, sku="HELD-1")
    order = reserve_order(order=order_for(tenant, item, units), actor=SYSTEM)
    return order, item, where


def test_check_stock_holds_levels_reservations_and_order_lines_together(tenant, capsys):
    order, item, _ = reserved_order(tenant)
    assert order.lines.get().reserved == 3
    call_command("check_stock")
    assert "match their ledger and reservations; order lines match" in capsys.readouterr().out


def test_check_stock_reports_a_line_whose_reserved_was_written_past_the_reservations(tenant, capsys):
    order, _, _ = reserved_order(tenant)
    OrderLine.objects.filter(order=order).update(reserved=1)  # what no code may do any more
    with pytest.raises(CommandError, match="1 order line"):
        call_command("check_stock")
    assert f"LINE shop-a order {order.number} HELD-1: line reserved 1, reservations 3 + shipped 0" in (
        capsys.readouterr().out
    )


def test_check_stock_reports_a_level_whose_reserved_differs_from_its_reservations(tenant, capsys):
    _, item, _ = reserved_order(tenant)
    StockLevel.objects.filter(product=item).update(reserved=2)
    with pytest.raises(CommandError, match="1 stock level.*reservations"):
        call_command("check_stock")
    assert "RESERVED shop-a MAIN HELD-1: reserved 2, reservations 3 (-1)" in capsys.readouterr().out


def test_the_lines_reserved_follows_inventory_through_release_shipment_and_return(tenant):
    """No orders code writes `reserved`: the database keeps it from inventory's reservations and movements."""
    order, item, where = reserved_order(tenant)
    line = order.lines.get()
    stock.release(tenant=tenant, line_ids=[line.pk], quantity_by_line={line.pk: 1})
    line.refresh_from_db()
    assert line.reserved == 2
    stock.consume(tenant=tenant, line_ids=[line.pk])  # shipped: the units left with the line
    line.refresh_from_db()
    assert line.reserved == 2 and not Reservation.objects.filter(line_id=line.pk).exists()
    stock.restock_return(tenant=tenant, warehouse=where, product=item, quantity=2, order_line_id=line.pk)
    line.refresh_from_db()
    assert line.reserved == 0
    call_command("check_stock")

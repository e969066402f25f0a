import pytest
from django.core.management import CommandError, call_command

from inventory.models import StockLevel
from oms import rls

from .helpers import stocked

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

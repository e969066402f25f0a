"""The inventory paths keep working, and stay inside their tenant, under row-level security."""

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from inventory import services as stock
from inventory.models import StockLevel
from oms import rls
from oms.models import Role

from .helpers import lines_for, stocked

pytestmark = pytest.mark.django_db


def test_check_stock_looks_into_every_tenant(tenant, other_tenant, capsys):
    ours, _ = stocked(tenant, 5)
    stocked(other_tenant, 2)
    StockLevel.objects.filter(product=ours).update(on_hand=9)
    rls.bind(None)
    with pytest.raises(CommandError, match="1 stock level"):
        call_command("check_stock")
    out = capsys.readouterr().out
    assert "DRIFT shop-a MAIN" in out and "on hand 9, ledger 5" in out


def test_reservation_sees_only_the_bound_tenants_stock(tenant, other_tenant):
    item, main = stocked(tenant, 5)
    (line,) = lines_for(tenant, [item], 3)
    demand = [stock.Demand(line.pk, item.pk, 3)]
    rls.set_tenant(other_tenant.pk)
    with transaction.atomic():
        assert stock.reserve(tenant=tenant, demands=demand) == {}
    rls.set_tenant(tenant.pk)
    with transaction.atomic():
        assert stock.reserve(tenant=tenant, demands=demand) == {line.pk: 3}
    assert StockLevel.objects.get(product=item).reserved == 3


def test_stock_screens_work_for_the_requests_tenant(tenant, client_for):
    item, main = stocked(tenant, 5)
    client = client_for(Role.MANAGER)
    rls.bind(None)
    assert ">5<" in client.get(reverse("inventory:products")).content.decode()
    response = client.post(
        reverse("inventory:receive", args=[item.pk]),
        {"receipt-warehouse": main.pk, "receipt-quantity": 2},
        HTTP_HX_REQUEST="true",
    )
    assert 'data-testid="on-hand-MAIN">7<' in response.content.decode()

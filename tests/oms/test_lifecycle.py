import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from oms import rls
from oms.models import Role, Tenant
from orders.catalogue import number_sequence_name
from orders.models import Order
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_owner_downloads_a_zip_of_the_shops_data_only(tenant, other_tenant, client_for):
    ours = place_order(tenant, [(stocked_product(tenant), 2)], customer_name="Ann Ours")
    place_order(other_tenant, [(stocked_product(other_tenant), 1)], customer_name="Bob Theirs")
    response = client_for(Role.OWNER).get("/settings/export/")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    orders_csv = archive.read("orders_order.csv").decode()
    assert ours.number in orders_csv and orders_csv.count("\n") == 2
    customers_csv = archive.read("orders_customer.csv").decode()
    assert "Ann Ours" in customers_csv and "Bob Theirs" not in customers_csv
    assert "inventory_stocklevel.csv" in archive.namelist() and "manifest.json" in archive.namelist()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER])
def test_only_owners_export(client_for, role):
    assert client_for(role).get("/settings/export/").status_code == 403


def test_delete_dry_run_counts_and_changes_nothing(tenant, other_tenant, capsys):
    place_order(tenant, [(stocked_product(tenant), 1)])
    place_order(tenant, [(stocked_product(tenant), 1)])
    call_command("delete_tenant", tenant.slug, dry_run=True)
    out = capsys.readouterr().out
    assert any(line.split() == ["orders_order", "2"] for line in out.splitlines())
    assert "Dry run" in out and Order.objects.filter(tenant=tenant).count() == 2


@pytest.mark.django_db(transaction=True)  # deferred foreign keys are checked at a real commit
def test_delete_needs_confirmation_then_removes_only_that_tenant(tenant, other_tenant):
    place_order(tenant, [(stocked_product(tenant), 1)])
    theirs = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    with pytest.raises(CommandError, match="--yes"):
        call_command("delete_tenant", tenant.slug)
    call_command("delete_tenant", tenant.slug, yes=True)
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    with rls.tenant_context(tenant.pk):  # the wall admits the deleted shop's rows: there are none left
        assert not Order.objects.filter(tenant_id=tenant.pk).exists()
    with rls.tenant_context(other_tenant.pk):
        assert Order.objects.filter(pk=theirs.pk).exists()
    # orders' tenant finalizer dropped the shop's number sequence; the other shop keeps its own
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s), to_regclass(%s)",
            [number_sequence_name(tenant.pk), number_sequence_name(other_tenant.pk)],
        )
        assert cursor.fetchone() == (None, number_sequence_name(other_tenant.pk))

import pytest
from django.urls import reverse

from oms.models import Role

from .helpers import snapshot, stocked

pytestmark = pytest.mark.django_db

STOCK_ROLES = {Role.OWNER, Role.MANAGER, Role.ADMIN}
SETTINGS_ROLES = {Role.OWNER, Role.ADMIN}


def screens(item, where):
    """(url, roles that may open it) for every inventory screen."""
    return [
        (reverse("inventory:products"), STOCK_ROLES),
        (reverse("inventory:product_create"), STOCK_ROLES),
        (reverse("inventory:product", args=[item.pk]), STOCK_ROLES),
        (reverse("inventory:import"), STOCK_ROLES),
        (reverse("inventory:warehouses"), SETTINGS_ROLES),
        (reverse("inventory:warehouse_edit", args=[where.pk]), SETTINGS_ROLES),
    ]


def stock_posts(item, where):
    """Crafted POSTs that would change stock or the catalogue if they were let through."""
    return [
        (reverse("inventory:receive", args=[item.pk]), {"receipt-warehouse": where.pk, "receipt-quantity": 5}),
        (
            reverse("inventory:write_off", args=[item.pk]),
            {"writeoff-warehouse": where.pk, "writeoff-quantity": 1, "writeoff-reason": "x"},
        ),
        (
            reverse("inventory:adjust", args=[item.pk]),
            {"adjust-warehouse": where.pk, "adjust-counted": 99, "adjust-reason": "x"},
        ),
        (
            reverse("inventory:product_update", args=[item.pk]),
            {"product-name": "Hacked", "product-price": "0.01", "product-barcode": ""},
        ),
        (reverse("inventory:product_create"), {"sku": "EVIL", "name": "Evil", "price": "1"}),
        (reverse("inventory:warehouses"), {"code": "EVIL", "name": "Evil", "priority": 1}),
        (reverse("inventory:warehouse_edit", args=[where.pk]), {"name": "Evil", "priority": 0}),
        (reverse("inventory:import_confirm"), {"digest": "0" * 64}),
    ]


@pytest.mark.parametrize("role", Role.values)
def test_each_role_opens_only_its_inventory_screens(tenant, client_for, role):
    item, where = stocked(tenant, 3)
    client = client_for(role)
    for url, allowed in screens(item, where):
        assert client.get(url).status_code == (200 if role in allowed else 403), url


@pytest.mark.parametrize("role", [Role.PACKER, Role.COURIER])
def test_packers_and_couriers_cannot_change_stock_even_by_crafted_posts(tenant, client_for, role):
    item, where = stocked(tenant, 3, name="Original")
    before = snapshot()
    client = client_for(role)
    for url, data in stock_posts(item, where):
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403, url
    assert snapshot() == before
    item.refresh_from_db()
    assert item.name == "Original"
    where.refresh_from_db()
    assert where.name != "Evil"


def test_managers_cannot_change_warehouses_by_crafted_posts(tenant, client_for):
    item, where = stocked(tenant, 3)
    client = client_for(Role.MANAGER)
    assert client.post(reverse("inventory:warehouses"), {"code": "X", "name": "X", "priority": 1}).status_code == 403
    assert (
        client.post(reverse("inventory:warehouse_edit", args=[where.pk]), {"name": "X", "priority": 1}).status_code
        == 403
    )


def test_anonymous_visitors_are_sent_to_login(tenant, client):
    item, where = stocked(tenant, 3)
    for url, data in [(url, {}) for url, _ in screens(item, where)] + stock_posts(item, where):
        for response in (client.get(url), client.post(url, data)):
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login")), url


def test_stock_actions_refuse_get(tenant, client_for):
    item, where = stocked(tenant, 3)
    assert client_for(Role.MANAGER).get(reverse("inventory:receive", args=[item.pk])).status_code == 405

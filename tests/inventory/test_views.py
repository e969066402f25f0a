import pytest
from django.urls import reverse

from inventory.models import MoveKind, Product, StockMove, Warehouse
from oms.models import Role
from tests.factories import ProductFactory

from .helpers import level, product, snapshot, stocked, warehouse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def receipt(where, quantity, reason=""):
    return {"receipt-warehouse": where.pk, "receipt-quantity": quantity, "receipt-reason": reason}


# --- product list ----------------------------------------------------------------------------------------------


def test_product_list_shows_stock_figures_per_product(tenant, client_for):
    item, where = stocked(tenant, 12, sku="TEE-1", name="Black tee", barcode="4006381333931")
    response = client_for(Role.MANAGER).get(reverse("inventory:products"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "TEE-1" in html and "Black tee" in html and "4006381333931" in html
    assert reverse("inventory:product", args=[item.pk]) in html
    assert ">12<" in html


@pytest.mark.parametrize("q", ["tee-1", "Black", "4006381333931"])
def test_product_list_searches_by_sku_name_and_barcode(tenant, client_for, q):
    product(tenant, sku="TEE-1", name="Black tee", barcode="4006381333931")
    product(tenant, sku="MUG-9", name="Coffee mug", barcode="1111111111111")
    html = client_for(Role.MANAGER).get(reverse("inventory:products"), {"q": q}).content.decode()
    assert "TEE-1" in html
    assert "MUG-9" not in html


def test_product_list_search_for_nothing_shows_an_empty_state(tenant, client_for):
    product(tenant, sku="TEE-1")
    html = client_for(Role.MANAGER).get(reverse("inventory:products"), {"q": "zzz"}).content.decode()
    assert "No product matches" in html


def test_product_list_without_products_invites_to_create_or_import(tenant, client_for):
    html = client_for(Role.MANAGER).get(reverse("inventory:products")).content.decode()
    assert "No products yet" in html
    assert reverse("inventory:import") in html


def test_product_list_pages_by_fifty(tenant, client_for):
    ProductFactory.create_batch(55, tenant=tenant)
    client = client_for(Role.MANAGER)
    first = client.get(reverse("inventory:products")).context["page"]
    second = client.get(reverse("inventory:products"), {"page": 2}).context["page"]
    assert len(first.object_list) == 50 and len(second.object_list) == 5
    assert not {p.pk for p in first} & {p.pk for p in second}


def test_product_list_htmx_search_answers_with_the_table_only(tenant, client_for):
    product(tenant, sku="TEE-1")
    response = client_for(Role.MANAGER).get(reverse("inventory:products"), {"q": "TEE"}, **HTMX)
    html = response.content.decode()
    assert 'id="product-table"' in html and "TEE-1" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_product_list_query_count_does_not_grow_with_rows(tenant, client_for, django_assert_max_num_queries):
    client = client_for(Role.MANAGER)
    where = warehouse(tenant)
    for _ in range(3):
        stocked(tenant, 5, where=where)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("inventory:products"))
    for _ in range(40):
        stocked(tenant, 5, where=where)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("inventory:products")).status_code == 200


def test_product_list_shows_only_the_tenants_products(tenant, other_tenant, client_for):
    product(tenant, sku="OURS-1")
    product(other_tenant, sku="THEIRS-1")
    html = client_for(Role.MANAGER).get(reverse("inventory:products")).content.decode()
    assert "OURS-1" in html and "THEIRS-1" not in html


# --- new product -------------------------------------------------------------------------------------------------


def test_new_product_form_creates_and_redirects_to_the_product(tenant, client_for):
    response = client_for(Role.MANAGER).post(
        reverse("inventory:product_create"), {"sku": "NEW-1", "name": "New thing", "price": "9.90", "barcode": ""}
    )
    created = Product.objects.get(tenant=tenant, sku="NEW-1")
    assert response.status_code == 302 and response["Location"] == reverse("inventory:product", args=[created.pk])
    assert str(created.price) == "9.90"


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"sku": "", "name": "X", "price": "1"}, "sku", "required"),
        ({"sku": "A B", "name": "X", "price": "1"}, "sku", "without spaces"),
        ({"sku": "A1", "name": "", "price": "1"}, "name", "required"),
        ({"sku": "A1", "name": "X", "price": "-1"}, "price", "greater than or equal to 0"),
        ({"sku": "A1", "name": "X", "price": "abc"}, "price", "Enter a number"),
        ({"sku": "A1", "name": "X", "price": "1.234"}, "price", "2 decimal places"),
    ],
)
def test_new_product_form_shows_errors_next_to_fields(tenant, client_for, data, field, message):
    response = client_for(Role.MANAGER).post(reverse("inventory:product_create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert "field-error" in response.content.decode()
    assert not Product.objects.filter(tenant=tenant).exists()


def test_new_product_with_a_duplicate_sku_says_so_next_to_the_sku(tenant, client_for):
    product(tenant, sku="DUP-1")
    response = client_for(Role.MANAGER).post(
        reverse("inventory:product_create"), {"sku": "DUP-1", "name": "Again", "price": "1.00"}
    )
    assert "already exists" in response.context["form"].errors["sku"][0]
    assert Product.objects.filter(tenant=tenant).count() == 1


def test_new_product_with_a_duplicate_barcode_says_so_next_to_the_barcode(tenant, client_for):
    product(tenant, sku="A-1", barcode="4006381333931")
    response = client_for(Role.MANAGER).post(
        reverse("inventory:product_create"),
        {"sku": "B-1", "name": "Other", "price": "1.00", "barcode": "4006381333931"},
    )
    assert "already used" in response.context["form"].errors["barcode"][0]
    assert not Product.objects.filter(tenant=tenant, sku="B-1").exists()


def test_the_same_sku_may_exist_in_another_tenant(tenant, other_tenant, client_for):
    product(other_tenant, sku="SHARED-1")
    response = client_for(Role.MANAGER).post(
        reverse("inventory:product_create"), {"sku": "SHARED-1", "name": "Ours", "price": "1.00"}
    )
    assert response.status_code == 302


# --- product page ----------------------------------------------------------------------------------------------


def test_product_page_shows_stock_per_warehouse_and_the_ledger_newest_first(tenant, client_for):
    item, main = stocked(tenant, 7, sku="TEE-1")
    north = warehouse(tenant, "NORTH")
    from inventory import services

    services.receive(tenant=tenant, warehouse=north, lines=[(item, 3)], reason="second delivery")
    response = client_for(Role.MANAGER).get(reverse("inventory:product", args=[item.pk]))
    assert response.status_code == 200
    levels = {lv.warehouse.code: (lv.on_hand, lv.reserved, lv.available) for lv in response.context["levels"]}
    assert levels == {"MAIN": (7, 0, 7), "NORTH": (3, 0, 3)}
    moves = list(response.context["moves"])
    assert [m.reason for m in moves] == ["second delivery", "opening stock"]
    assert "second delivery" in response.content.decode()


def test_product_page_pages_the_ledger(tenant, client_for):
    item, main = stocked(tenant, 1)
    from inventory import services

    for _ in range(25):
        services.receive(tenant=tenant, warehouse=main, lines=[(item, 1)])
    client = client_for(Role.MANAGER)
    assert len(client.get(reverse("inventory:product", args=[item.pk])).context["moves"].object_list) == 20
    assert len(client.get(reverse("inventory:product", args=[item.pk]), {"page": 2}).context["moves"].object_list) == 6


def test_product_page_query_count_does_not_grow_with_warehouses_or_moves(
    tenant, client_for, django_assert_max_num_queries
):
    from inventory import services

    item, main = stocked(tenant, 1)
    client = client_for(Role.MANAGER)
    with django_assert_max_num_queries(15) as few:
        client.get(reverse("inventory:product", args=[item.pk]))
    for code in ("B", "C", "D", "E"):
        services.receive(tenant=tenant, warehouse=warehouse(tenant, code), lines=[(item, 2)])
    services.write_off(tenant=tenant, warehouse=main, product=item, quantity=1, reason="broken")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("inventory:product", args=[item.pk]))


def test_foreign_product_id_is_404(tenant, other_tenant, client_for):
    theirs = product(other_tenant)
    client = client_for(Role.MANAGER)
    assert client.get(reverse("inventory:product", args=[theirs.pk])).status_code == 404
    where = warehouse(tenant)
    assert client.post(reverse("inventory:receive", args=[theirs.pk]), receipt(where, 5)).status_code == 404
    assert not StockMove.objects.filter(product=theirs).exists()


def test_missing_product_id_is_404(client_for):
    assert client_for(Role.MANAGER).get(reverse("inventory:product", args=[999999])).status_code == 404


def test_product_details_can_be_edited(tenant, client_for):
    item = product(tenant, sku="E-1", name="Old", barcode="")
    response = client_for(Role.MANAGER).post(
        reverse("inventory:product_update", args=[item.pk]),
        {"product-name": "New name", "product-price": "5.50", "product-barcode": "123", "product-is_active": ""},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.name, str(item.price), item.barcode, item.is_active) == ("New name", "5.50", "123", False)


def test_product_edit_refuses_a_barcode_of_another_product(tenant, client_for):
    product(tenant, sku="A-1", barcode="777")
    item = product(tenant, sku="B-1", name="Keep", barcode="888")
    response = client_for(Role.MANAGER).post(
        reverse("inventory:product_update", args=[item.pk]),
        {"product-name": "Changed", "product-price": "1.00", "product-barcode": "777", "product-is_active": "on"},
    )
    assert response.status_code == 200
    assert "already used" in response.content.decode()
    item.refresh_from_db()
    assert (item.name, item.barcode) == ("Keep", "888")


# --- stock forms -------------------------------------------------------------------------------------------------


def test_receipt_without_htmx_redirects_back_to_the_product(tenant, client_for):
    item, main = stocked(tenant, 0)
    main.save()
    response = client_for(Role.MANAGER).post(reverse("inventory:receive", args=[item.pk]), receipt(main, 5, "PO-1"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("inventory:product", args=[item.pk]))
    move = StockMove.objects.get(product=item)
    assert (move.kind, move.quantity, move.reason) == (MoveKind.RECEIPT, 5, "PO-1")
    assert move.actor is not None
    assert level(item, main).on_hand == 5


def test_receipt_with_htmx_answers_with_the_refreshed_stock_partial(tenant, client_for):
    item, main = stocked(tenant, 2)
    response = client_for(Role.MANAGER).post(reverse("inventory:receive", args=[item.pk]), receipt(main, 5), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="stock"')
    assert "<html" not in html
    assert 'data-testid="on-hand-MAIN">7<' in html
    assert "Received 5" in html
    assert level(item, main).on_hand == 7


@pytest.mark.parametrize("quantity", ["0", "-3", "", "abc", "1.5", "1000001"])
def test_receipt_with_a_bad_quantity_shows_the_error_inline_and_writes_nothing(tenant, client_for, quantity):
    item, main = stocked(tenant, 2)
    before = snapshot()
    response = client_for(Role.MANAGER).post(
        reverse("inventory:receive", args=[item.pk]), receipt(main, quantity), **HTMX
    )
    assert response.status_code == 200
    assert response.context["receipt_form"].errors["quantity"]
    assert 'class="errorlist"' in response.content.decode()
    assert snapshot() == before


def test_receipt_into_a_foreign_warehouse_is_refused(tenant, other_tenant, client_for):
    item, _ = stocked(tenant, 0)
    theirs = warehouse(other_tenant, "THEIRS")
    before = snapshot()
    response = client_for(Role.MANAGER).post(reverse("inventory:receive", args=[item.pk]), receipt(theirs, 5))
    assert response.status_code == 200
    assert response.context["receipt_form"].errors["warehouse"]
    assert snapshot() == before


def test_write_off_beyond_available_is_refused_with_a_message_and_writes_nothing(tenant, client_for):
    item, main = stocked(tenant, 3)
    before = snapshot()
    response = client_for(Role.MANAGER).post(
        reverse("inventory:write_off", args=[item.pk]),
        {"writeoff-warehouse": main.pk, "writeoff-quantity": 4, "writeoff-reason": "broken"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Only 3 unit(s)" in html and "flash-error" in html
    assert snapshot() == before


def test_write_off_without_htmx_works(tenant, client_for):
    item, main = stocked(tenant, 3)
    response = client_for(Role.MANAGER).post(
        reverse("inventory:write_off", args=[item.pk]),
        {"writeoff-warehouse": main.pk, "writeoff-quantity": 2, "writeoff-reason": "broken"},
    )
    assert response.status_code == 302
    assert level(item, main).on_hand == 1
    assert StockMove.objects.filter(product=item, kind=MoveKind.WRITE_OFF, quantity=-2, reason="broken").exists()


def test_write_off_needs_a_reason(tenant, client_for):
    item, main = stocked(tenant, 3)
    before = snapshot()
    response = client_for(Role.MANAGER).post(
        reverse("inventory:write_off", args=[item.pk]),
        {"writeoff-warehouse": main.pk, "writeoff-quantity": 1, "writeoff-reason": ""},
        **HTMX,
    )
    assert response.context["write_off_form"].errors["reason"]
    assert snapshot() == before


def test_failed_write_off_without_htmx_rerenders_the_page_with_the_message(tenant, client_for):
    item, main = stocked(tenant, 1)
    before = snapshot()
    response = client_for(Role.MANAGER).post(
        reverse("inventory:write_off", args=[item.pk]),
        {"writeoff-warehouse": main.pk, "writeoff-quantity": 5, "writeoff-reason": "lost"},
    )
    assert response.status_code == 200
    assert "Only 1 unit(s)" in response.content.decode()
    assert "<html" in response.content.decode()
    assert snapshot() == before


def test_stock_take_sets_on_hand_to_the_count_through_an_adjustment(tenant, client_for):
    item, main = stocked(tenant, 10)
    response = client_for(Role.MANAGER).post(
        reverse("inventory:adjust", args=[item.pk]),
        {"adjust-warehouse": main.pk, "adjust-counted": 8, "adjust-reason": "stock-take"},
        **HTMX,
    )
    assert response.status_code == 200
    assert level(item, main).on_hand == 8
    assert StockMove.objects.get(product=item, kind=MoveKind.ADJUSTMENT).quantity == -2
    assert "set to 8" in response.content.decode()


def test_stock_take_below_reserved_is_refused(tenant, client_for):
    from .helpers import order_for

    item, main = stocked(tenant, 5)
    from orders.services.reservations import reserve_order

    from .helpers import SYSTEM

    reserve_order(order=order_for(tenant, item, 4), actor=SYSTEM)
    before = snapshot()
    response = client_for(Role.MANAGER).post(
        reverse("inventory:adjust", args=[item.pk]),
        {"adjust-warehouse": main.pk, "adjust-counted": 3, "adjust-reason": "count"},
        **HTMX,
    )
    assert "4 unit(s) are reserved" in response.content.decode()
    assert snapshot() == before


def test_stock_take_without_a_reason_is_refused_inline(tenant, client_for):
    item, main = stocked(tenant, 5)
    before = snapshot()
    response = client_for(Role.MANAGER).post(
        reverse("inventory:adjust", args=[item.pk]),
        {"adjust-warehouse": main.pk, "adjust-counted": 3, "adjust-reason": " "},
        **HTMX,
    )
    assert response.context["adjust_form"].errors["reason"]
    assert snapshot() == before


# --- warehouses ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_admins_and_owners_create_warehouses(tenant, client_for, role):
    response = client_for(role).post(
        reverse("inventory:warehouses"), {"code": "EAST", "name": "East depot", "priority": 20}
    )
    assert response.status_code == 302
    assert Warehouse.objects.get(tenant=tenant, code="EAST").priority == 20


def test_warehouse_code_is_unique_per_tenant(tenant, other_tenant, client_for):
    warehouse(tenant, "MAIN")
    warehouse(other_tenant, "EAST")
    client = client_for(Role.ADMIN)
    response = client.post(reverse("inventory:warehouses"), {"code": "MAIN", "name": "Again", "priority": 1})
    assert "already exists" in response.context["form"].errors["code"][0]
    assert (
        client.post(reverse("inventory:warehouses"), {"code": "EAST", "name": "Ours", "priority": 1}).status_code == 302
    )


def test_warehouse_edit_changes_name_priority_and_active(tenant, client_for):
    where = warehouse(tenant, "MAIN", name="Old", priority=100)
    response = client_for(Role.ADMIN).post(
        reverse("inventory:warehouse_edit", args=[where.pk]), {"name": "Main hall", "priority": 5}
    )
    assert response.status_code == 302
    where.refresh_from_db()
    assert (where.code, where.name, where.priority, where.is_active) == ("MAIN", "Main hall", 5, False)


def test_warehouse_edit_of_a_foreign_warehouse_is_404(other_tenant, client_for):
    theirs = warehouse(other_tenant, "THEIRS")
    client = client_for(Role.ADMIN)
    assert client.get(reverse("inventory:warehouse_edit", args=[theirs.pk])).status_code == 404
    assert (
        client.post(reverse("inventory:warehouse_edit", args=[theirs.pk]), {"name": "x", "priority": 1}).status_code
        == 404
    )


def test_managers_cannot_open_warehouse_settings(client_for):
    assert client_for(Role.MANAGER).get(reverse("inventory:warehouses")).status_code == 403

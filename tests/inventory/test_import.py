from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory import importing
from inventory.models import MoveKind, Product, StockMove
from oms import rls
from oms.models import Role

from .helpers import level, product, snapshot, stocked, warehouse

pytestmark = pytest.mark.django_db

GOOD = """sku,name,price,barcode,warehouse,quantity
TEE-1,Black tee,19.90,4006381333931,MAIN,40
TEE-1,Black tee,19.90,4006381333931,NORTH,10
MUG-1,Coffee mug,7.5,,,
"""


@pytest.fixture
def shop(tenant):
    warehouse(tenant, "MAIN")
    warehouse(tenant, "NORTH", priority=200)
    return tenant


def upload(client, text, name="products.csv"):
    return client.post(reverse("inventory:import"), {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def confirm(client):
    digest = client.session[importing_key()]["digest"]
    return client.post(reverse("inventory:import_confirm"), {"digest": digest})


def importing_key():
    from inventory.views import IMPORT_SESSION_KEY

    return IMPORT_SESSION_KEY


def errors_of(text, tenant):
    preview = importing.preview(tenant=tenant, text=text)
    return preview.errors, {row.line: row.errors for row in preview.error_rows}


# --- the preview -------------------------------------------------------------------------------------------------


def test_preview_of_a_good_file_plans_every_row_and_writes_nothing(shop, client_for):
    product(shop, sku="MUG-1", name="Old mug", price=Decimal("5.00"))
    before = snapshot(), Product.objects.count()
    response = upload(client_for(Role.MANAGER), GOOD)
    preview = response.context["preview"]
    assert response.status_code == 200
    assert preview.is_valid
    assert preview.summary == {"rows": 3, "create": 1, "update": 1, "unchanged": 0, "receipts": 2, "units": 50}
    assert "Confirm import" in response.content.decode()
    assert (snapshot(), Product.objects.count()) == before


@pytest.mark.parametrize(
    "row,message",
    [
        ("TEE-2,Tee,abc,,,", "is not an amount"),
        ("TEE-2,Tee,-1,,,", "cannot be negative"),
        ("TEE-2,Tee,1.999,,,", "two decimal places"),
        ("TEE-2,Tee,,,,", "Price is missing"),
        (",Tee,1,,,", "SKU is missing"),
        ("TEE 2,Tee,1,,,", "without spaces"),
        ("TEE-2,,1,,,", "Name is missing"),
        ("TEE-2,Tee,1,,NOWHERE,5", "Unknown warehouse “NOWHERE”"),
        ("TEE-2,Tee,1,,MAIN,-5", "Quantity cannot be negative"),
        ("TEE-2,Tee,1,,MAIN,2.5", "not a whole number"),
        ("TEE-2,Tee,1,,MAIN,", "together"),
        ("TEE-2,Tee,1,,,5", "together"),
        ("TEE-2,Tee,1,,MAIN,5,extra", "Has 7 value(s)"),
        ("TEE-2,Tee,1", "Has 3 value(s)"),
        ("TEE-2,Tee,1,4006381333931,,", "already used by product OLD-1"),
    ],
)
def test_preview_names_the_problem_of_each_bad_row(shop, row, message):
    product(shop, sku="OLD-1", barcode="4006381333931")
    file_errors, row_errors = errors_of(f"sku,name,price,barcode,warehouse,quantity\nOK-1,Fine,1,,,\n{row}\n", shop)
    assert file_errors == []
    assert list(row_errors) == [3]
    assert any(message in error for error in row_errors[3]), row_errors


def test_preview_catches_a_barcode_given_twice_in_the_file(shop):
    text = "sku,name,price,barcode\nA-1,A,1,555\nB-1,B,1,555\n"
    _, row_errors = errors_of(text, shop)
    assert row_errors == {3: ["Barcode 555 is also given to SKU A-1 on line 2."]}


def test_preview_catches_a_sku_repeated_with_other_details(shop):
    text = "sku,name,price,warehouse,quantity\nA-1,A,1,MAIN,1\nA-1,A,2,NORTH,1\n"
    _, row_errors = errors_of(text, shop)
    assert "other name, price or barcode on line 2" in row_errors[3][0]


def test_preview_refuses_a_switched_off_warehouse(shop):
    warehouse(shop, "OLD", is_active=False)
    _, row_errors = errors_of("sku,name,price,warehouse,quantity\nA-1,A,1,OLD,3\n", shop)
    assert "switched off" in row_errors[2][0]


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("sku,name\nA,B\n", "Missing column(s): price"),
        ("sku,name,price,colour\nA,B,1,red\n", "Unknown column(s): colour"),
        ("sku,name,price,sku\nA,B,1,A\n", "named twice: sku"),
        ("sku,name,price,warehouse\nA,B,1,MAIN\n", "warehouse and quantity together"),
        ("sku,name,price\n", "no rows"),
    ],
)
def test_preview_refuses_a_file_with_bad_columns(shop, text, message):
    file_errors, _ = errors_of(text, shop)
    assert any(message in error for error in file_errors), file_errors


def test_preview_reads_semicolon_separated_files(shop):
    preview = importing.preview(tenant=shop, text="sku;name;price\nA-1;Mug;2.50\n")
    assert preview.is_valid and preview.rows[0].price == Decimal("2.50")


def test_preview_page_lists_row_errors_and_offers_no_confirm(shop, client_for):
    before = snapshot(), Product.objects.count()
    response = upload(client_for(Role.MANAGER), "sku,name,price,warehouse,quantity\nA-1,A,x,NOWHERE,-1\n")
    html = response.content.decode()
    assert "is not an amount" in html and "Unknown warehouse" in html and "cannot be negative" in html
    assert "Confirm import" not in html
    assert (snapshot(), Product.objects.count()) == before


def test_files_over_two_megabytes_are_refused(shop, client_for):
    big = "sku,name,price\n" + "A-1,Name,1.00\n" * 160_000
    response = upload(client_for(Role.MANAGER), big)
    assert "the limit is 2 MB" in response.content.decode()
    assert response.context["preview"] is None
    assert importing_key() not in response.wsgi_request.session


def test_non_utf8_files_are_refused_clearly(shop, client_for):
    client = client_for(Role.MANAGER)
    response = client.post(
        reverse("inventory:import"),
        {"file": SimpleUploadedFile("p.csv", "sku,name,price\nA,Größe,1\n".encode("latin-1"), "text/csv")},
    )
    assert "not UTF-8" in response.content.decode()


# --- confirm -----------------------------------------------------------------------------------------------------


def test_confirm_writes_products_and_stock_through_the_ledger(shop, client_for):
    product(shop, sku="MUG-1", name="Old mug", price=Decimal("5.00"), barcode="999")
    client = client_for(Role.MANAGER)
    upload(client, GOOD)
    response = confirm(client)
    assert response.status_code == 302 and response["Location"] == reverse("inventory:products")
    tee = Product.objects.get(tenant=shop, sku="TEE-1")
    mug = Product.objects.get(tenant=shop, sku="MUG-1")
    assert (tee.name, tee.price, tee.barcode) == ("Black tee", Decimal("19.90"), "4006381333931")
    assert (mug.name, mug.price, mug.barcode) == ("Coffee mug", Decimal("7.50"), "999")  # empty cell keeps it
    main, north = shop_warehouses(shop)
    assert (level(tee, main).on_hand, level(tee, north).on_hand) == (40, 10)
    moves = StockMove.objects.filter(product=tee)
    assert {m.kind for m in moves} == {MoveKind.RECEIPT} and sum(m.quantity for m in moves) == 50
    assert all(m.reason == "CSV import products.csv" and m.actor is not None for m in moves)
    assert importing_key() not in client.session


def shop_warehouses(shop):
    from inventory.models import Warehouse

    return Warehouse.objects.get(tenant=shop, code="MAIN"), Warehouse.objects.get(tenant=shop, code="NORTH")


def test_confirm_rechecks_and_writes_nothing_when_the_shop_changed_meanwhile(shop, client_for):
    client = client_for(Role.MANAGER)
    upload(client, GOOD)
    product(shop, sku="OTHER-1", barcode="4006381333931")  # someone took the barcode since the preview
    before = snapshot(), Product.objects.count()
    response = confirm(client)
    assert response.status_code == 200
    assert "already used by product OTHER-1" in response.content.decode()
    assert (snapshot(), Product.objects.count()) == before


def test_confirm_is_all_or_nothing_when_a_service_refuses(shop, client_for, monkeypatch):
    client = client_for(Role.MANAGER)
    upload(client, GOOD)
    from inventory import services
    from inventory.errors import InvalidQuantity

    def refuse(**kwargs):
        raise InvalidQuantity("Refused for the test.")

    monkeypatch.setattr(services, "receive", refuse)
    before = snapshot(), Product.objects.count()
    response = confirm(client)
    assert "Nothing was imported: Refused for the test." in response.content.decode()
    assert (snapshot(), Product.objects.count()) == before


def test_confirm_without_a_pending_upload_or_with_another_digest_writes_nothing(shop, client_for):
    client = client_for(Role.MANAGER)
    response = client.post(reverse("inventory:import_confirm"), {"digest": "0" * 64})
    assert response.status_code == 302 and response["Location"] == reverse("inventory:import")
    upload(client, GOOD)
    response = client.post(reverse("inventory:import_confirm"), {"digest": "0" * 64})
    assert response["Location"] == reverse("inventory:import")
    assert not Product.objects.filter(tenant=shop).exists()


def test_a_pending_import_never_crosses_tenants(shop, other_tenant, client_for):
    """The session keeps the tenant of the upload: confirming after switching shop writes nothing."""
    from oms.services import add_member

    client = client_for(Role.MANAGER)
    upload(client, GOOD)
    user = client.session["_auth_user_id"]
    from django.contrib.auth import get_user_model

    with rls.tenant_context(other_tenant.pk):
        add_member(tenant=other_tenant, user=get_user_model().objects.get(pk=user), role=Role.MANAGER)
    session = client.session
    session["tenant_id"] = other_tenant.pk
    session.save()
    confirm(client)
    for shop_id in (shop.pk, other_tenant.pk):
        with rls.tenant_context(shop_id):
            assert not Product.objects.exists()


def test_importing_the_same_file_twice_adds_stock_twice_but_products_once(shop, client_for):
    client = client_for(Role.MANAGER)
    for _ in range(2):
        upload(client, GOOD)
        confirm(client)
    tee = Product.objects.get(tenant=shop, sku="TEE-1")
    main, _ = shop_warehouses(shop)
    assert level(tee, main).on_hand == 80
    assert Product.objects.filter(tenant=shop).count() == 2


def test_stock_only_rows_for_existing_products_leave_them_unchanged(shop):
    item, main = stocked(shop, 1, sku="KEEP-1", name="Keep", price=Decimal("3.00"), where=shop_warehouses(shop)[0])
    checked, result = importing.apply(tenant=shop, text="sku,name,price,warehouse,quantity\nKEEP-1,Keep,3.00,MAIN,4\n")
    assert checked.rows[0].action == "unchanged"
    assert (result.created, result.updated, result.units) == (0, 0, 4)
    assert level(item, main).on_hand == 5

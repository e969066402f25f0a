"""`manage.py seed_bulk`: bulk history straight into PostgreSQL that the app still reads as its own."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.test import Client
from django.utils import timezone

from inventory.models import Reservation, StockLevel, StockMove
from oms import rls
from oms.models import Membership, Role, Tenant
from oms.services import create_api_token
from orders import selectors
from orders.catalogue import number_sequence_name
from orders.models import ContactKind, Customer, CustomerContact, Group, Order, OrderLine
from tests.conftest import login
from tests.factories import make_member
from tests.rls_support import within_tenant

from .helpers import place_order

pytestmark = pytest.mark.django_db

ORDERS, CUSTOMERS = 300, 60


def seed(slug="bulk-test", orders=ORDERS, customers=CUSTOMERS, **options) -> Tenant:
    out = StringIO()
    call_command("seed_bulk", orders=orders, customers=customers, tenant=slug, stdout=out, **options)
    assert "Done in" in out.getvalue()
    return Tenant.objects.get(slug=slug)


@pytest.fixture
def bulk():
    return seed()


def test_counts_and_contacts(bulk):
    orders = Order.objects.filter(tenant=bulk)
    assert orders.count() == ORDERS
    assert Customer.objects.filter(tenant=bulk).count() == CUSTOMERS
    phones = CustomerContact.objects.filter(tenant=bulk, kind=ContactKind.PHONE)
    assert phones.count() == CUSTOMERS
    assert not phones.exclude(customer__phone__startswith="+7 9").exists()
    assert OrderLine.objects.filter(tenant=bulk).count() >= ORDERS
    assert orders.filter(parent__isnull=False).exists(), "some split-offs or copies"
    # Repeat purchases: some customers bought more than once, most once, every customer at least once.
    per_customer = Customer.objects.filter(tenant=bulk).annotate(n=Count("orders"))
    assert not per_customer.filter(n=0).exists()
    assert per_customer.filter(n=1).count() > per_customer.filter(n__gt=1).count() > 0
    assert set(orders.values_list("channel", flat=True)) == {"web", "marketplace", "phone"}
    assert set(orders.values_list("payment_status", flat=True)) == {"paid", "unpaid"}


def test_families_roots_and_numbers(bulk):
    orders = Order.objects.filter(tenant=bulk)
    assert not orders.filter(root__isnull=True).exists()
    roots = orders.filter(parent__isnull=True)
    assert not roots.exclude(root_id=F("id")).exists()
    assert not roots.exclude(number__regex=r"^[0-9]+$").exists()
    children = orders.filter(parent__isnull=False).select_related("parent")
    for child in children:
        assert child.root_id == child.parent.root_id
        assert child.customer_id == child.parent.customer_id
        assert child.number.startswith(f"{child.parent.number}-")
        assert child.created_at >= child.parent.created_at
    for root in roots.annotate(n=Count("family")):
        assert root.children_count == root.n - 1  # `family` counts the root itself
    assert orders.values("number").distinct().count() == ORDERS
    # Ids grow with creation time, as they would in real life.
    by_time = list(orders.order_by("created_at", "id").values_list("id", flat=True))
    assert by_time == sorted(by_time)


def test_totals_groups_and_times(bulk):
    orders = Order.objects.filter(tenant=bulk)
    sums = orders.annotate(line_sum=Sum(F("lines__price") * F("lines__quantity")))
    assert not sums.exclude(total=F("line_sum")).exists()
    assert not orders.exclude(group=F("status__group")).exists()
    assert orders.filter(group=Group.COMPLETE).count() > ORDERS / 2
    assert not orders.filter(group=Group.COMPLETE, delivered_at__isnull=True).exists()
    assert not orders.filter(group=Group.DELIVERY, handed_over_at__isnull=True).exists()
    now = timezone.now()
    assert not orders.exclude(
        created_at__lte=F("status_changed_at"), status_changed_at__lte=F("updated_at"), updated_at__lte=now
    ).exists()
    assert not orders.filter(created_at__lt=F("customer__created_at")).exists()
    oldest = orders.order_by("created_at").first().created_at
    assert (now - oldest).days > 300, "spread over the default 24 months"
    lines = OrderLine.objects.filter(tenant=bulk)
    assert not lines.filter(order__group=Group.ASSEMBLY).exclude(reserved=F("quantity")).exists()
    assert not lines.filter(order__group__in=[Group.NEW, Group.APPROVAL, Group.CANCEL], reserved__gt=0).exists()


def test_stock_ledger_and_reservations_stay_consistent(bulk):
    reserved_lines = OrderLine.objects.filter(tenant=bulk, order__group=Group.ASSEMBLY)
    assert Reservation.objects.filter(tenant=bulk).count() == reserved_lines.count()
    held, moved = {}, {}
    for row in Reservation.objects.filter(tenant=bulk).values("product", "warehouse").annotate(s=Sum("quantity")):
        held[row["product"], row["warehouse"]] = row["s"]
    for row in StockMove.objects.filter(tenant=bulk).values("product", "warehouse").annotate(s=Sum("quantity")):
        moved[row["product"], row["warehouse"]] = row["s"]
    levels = StockLevel.objects.filter(tenant=bulk)
    assert levels.count() > 200
    for level in levels:
        key = (level.product_id, level.warehouse_id)
        assert level.reserved == held.get(key, 0) <= level.on_hand == moved[key]


def test_the_app_reads_the_data(bulk):
    rows = list(selectors.orders_for_list(tenant=bulk).order_by("-created_at", "-pk")[:51])
    assert len(rows) == 51
    delivered = selectors.orders_for_list(tenant=bulk, filters={"status": "delivered"})
    assert delivered.exists() and not delivered.exclude(status__code="delivered").exists()
    customer = Customer.objects.filter(tenant=bulk).annotate(n=Count("orders")).order_by("-n").first()
    found = selectors.orders_for_list(tenant=bulk, filters={"q": customer.phone})
    assert set(found.values_list("customer_id", flat=True)) == {customer.pk}

    manager = make_member(bulk, Role.MANAGER)
    client = login(manager, bulk)
    assert client.get("/orders/").status_code == 200
    assert client.get("/orders/", {"status": "delivered", "page": 2}).status_code == 200
    child = Order.objects.filter(tenant=bulk, parent__isnull=False).first()
    page = client.get(f"/orders/{child.pk}/")
    assert page.status_code == 200 and child.number in page.content.decode()

    _, raw = create_api_token(tenant=bulk, name="tests")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    listed = api.get("/api/v1/orders", {"page_size": 5})
    assert listed.status_code == 200 and len(listed.json()["results"]) == 5
    body = api.get(f"/api/v1/orders/{child.pk}").json()
    assert (body["parent_id"], body["root_id"]) == (child.parent_id, child.root_id)
    assert body["total"] == f"{child.total:.2f}"


def test_new_orders_are_numbered_after_the_bulk(bulk):
    highest = max(
        int(n) for n in Order.objects.filter(tenant=bulk, parent__isnull=True).values_list("number", flat=True)
    )
    product = OrderLine.objects.filter(tenant=bulk).first().product
    order = place_order(bulk, [(product, 1)], customer_phone="+1 555 000 0001")
    assert order.number == str(highest + 1)
    assert order.root_id == order.pk
    # A customer of the bulk is recognised by phone, as the intake would for a real one.
    known = Customer.objects.filter(tenant=bulk).first()
    again = place_order(bulk, [(product, 1)], customer_phone=known.phone)
    assert again.customer_id == known.pk


def test_a_second_run_adds_more_with_fresh_numbers_and_contacts(bulk):
    seed(orders=50, customers=10)
    orders = Order.objects.filter(tenant=bulk)
    assert orders.count() == ORDERS + 50
    assert orders.values("number").distinct().count() == ORDERS + 50
    assert Customer.objects.filter(tenant=bulk).count() == CUSTOMERS + 10
    assert CustomerContact.objects.filter(tenant=bulk, kind=ContactKind.PHONE).count() == CUSTOMERS + 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sequence_last_value(%s::regclass)", [number_sequence_name(bulk.pk)])
        last = cursor.fetchone()[0]
    assert last == max(int(n) for n in orders.filter(parent__isnull=True).values_list("number", flat=True))
    assert Membership.objects.filter(tenant=bulk, role=Role.MANAGER).count() == 5


@within_tenant
def _shape(tenant):
    return list(
        Order.objects.filter(tenant=tenant)
        .order_by("number")
        .values_list("number", "status__code", "total", "channel", "children_count")
    )


def _index_definitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN "
            "('orders_order', 'orders_orderline', 'orders_customer', 'orders_customercontact') ORDER BY 1, 2"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY('{orders_order,orders_orderline,orders_customer,orders_customercontact}'::regclass[]) "
            "ORDER BY 1, 2"
        )
        return indexes, cursor.fetchall()


@pytest.mark.django_db(transaction=True)  # as on the command line: commits, VACUUM, no enclosing transaction
@pytest.mark.django_db(transaction=True)
def test_same_seed_same_data_and_the_index_rebuild_restores_every_index(as_database_owner):
    before = _index_definitions()
    first = seed("bulk-one", rebuild_indexes="always")
    assert _index_definitions() == before
    second = seed("bulk-two", rebuild_indexes="never")
    assert _shape(first) == _shape(second)
    other = seed("bulk-three", seed=2)
    assert _shape(other) != _shape(first)
    assert not Order.objects.filter(Q(tenant=first) | Q(tenant=second)).filter(root__isnull=True).exists()


def test_the_application_role_seeds_inside_the_shop_without_touching_indexes():
    """Run as the app role (as `make up` runs commands), the rows pass the policy; dropping indexes is the owner's."""
    before = _index_definitions()
    tenant = seed("bulk-rls", orders=40, customers=10, rebuild_indexes="always")
    assert _index_definitions() == before
    rls.bind(tenant.pk)
    assert Order.objects.count() == 40  # no filter written: the policy admits this tenant's rows
    rls.bind(None)
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_shop_the_owner_seeded_takes_new_order_numbers_as_the_application(as_database_owner, settings):
    """seed_bulk runs as the owner and creates the shop's number sequence; the app role must still draw from it."""
    tenant = seed("bulk-by-owner", orders=20, customers=5)
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {settings.DATABASE_APP_ROLE}")
        try:
            cursor.execute("SELECT nextval(%s)", [number_sequence_name(tenant.pk)])
            drawn = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET ROLE")
    assert drawn > 20

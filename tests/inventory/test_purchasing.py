"""Purchasing (API.md "Purchasing"): purchase orders, receiving them, incoming stock, waiting orders served."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import purchasing
from inventory.models import PurchaseOrder, StockLevel, StockMove
from oms import rls
from oms.models import Role
from orders.models import Order
from orders.services import families
from orders.services.reservations import reserve_order
from tests.factories import WarehouseFactory
from tests.notifications.helpers import drain
from tests.orders.helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def make_po(api_client, **extra):
    body = {"supplier": "Tea Co", "warehouse": "MAIN", "lines": [{"sku": "TEA", "quantity": 10, "cost": "2.50"}]}
    return post(api_client, "/api/v1/purchase-orders", {**body, **extra})


@pytest.fixture
def tea(tenant):
    WarehouseFactory(tenant=tenant, code="MAIN")
    return stocked_product(tenant, sku="TEA", on_hand=0, price="5.00", barcode="4600000000017")


def test_purchase_order_contract(tenant, api_client, tea):
    post(api_client, "/api/v1/stock/receipts", {"warehouse": "MAIN", "lines": [{"sku": "TEA", "quantity": 1}]})
    response = make_po(api_client, expected_at="2099-12-20")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "number", "supplier", "warehouse", "state", "expected_at", "lines"}
    assert (body["supplier"], body["warehouse"], body["state"], body["expected_at"]) == (
        "Tea Co",
        "MAIN",
        "ordered",
        "2099-12-20",
    )
    assert body["lines"] == [{"sku": "TEA", "quantity": 10, "received": 0, "cost": "2.50"}]
    row = api_client.get("/api/v1/stock?sku=TEA").json()["results"][0]
    assert (row["incoming"], row["expected_at"]) == (10, "2099-12-20")


def test_receiving_books_stock_naming_the_purchase_order_and_moves_the_state(tenant, api_client, tea):
    po = make_po(api_client).json()
    path = f"/api/v1/purchase-orders/{po['id']}/receive"
    first = post(api_client, path, {"lines": [{"sku": "TEA", "quantity": 4}]})
    assert first.status_code == 200 and first.json()["state"] == "partially_received"
    assert first.json()["lines"][0]["received"] == 4
    level = StockLevel.objects.get(product=tea)
    assert level.on_hand == 4
    move = StockMove.objects.get(kind="receipt", product=tea)
    assert move.purchase_order_id == po["id"] and move.quantity == 4
    rest = post(api_client, path, {"lines": [{"sku": "TEA", "quantity": 6}]})
    assert rest.json()["state"] == "received"
    assert api_client.get("/api/v1/stock?sku=TEA").json()["results"][0]["incoming"] == 0


@pytest.mark.parametrize(
    "lines",
    [[{"sku": "TEA", "quantity": 11}], [{"sku": "NOPE", "quantity": 1}], [{"sku": "TEA", "quantity": 0}], []],
)
def test_receiving_more_than_expected_or_unknown_is_422_and_writes_nothing(tenant, api_client, tea, lines):
    po = make_po(api_client).json()
    response = post(api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": lines})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"
    assert not StockMove.objects.filter(product=tea).exists()
    assert PurchaseOrder.objects.get(pk=po["id"]).state == "ordered"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"warehouse": "NOWHERE"}, "unknown_warehouse"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "unknown_sku"),
        ({"lines": []}, "invalid"),
        ({"lines": [{"sku": "TEA", "quantity": -1}]}, "invalid"),
        ({"expected_at": "someday"}, "invalid"),
        ({"supplier": ""}, "invalid"),
        ({"lines": [{"sku": "TEA", "quantity": 10, "cost": "2.555"}]}, "invalid"),
        (
            {"lines": [{"sku": "TEA", "quantity": 10, "cost": "2.00"}, {"sku": "TEA", "quantity": 10, "cost": "3.00"}]},
            "invalid",
        ),
        ({"lines": [{"sku": "TEA", "quantity": 600_000}, {"sku": "TEA", "quantity": 600_000}]}, "invalid"),
    ],
)
def test_bad_purchase_orders_are_refused(tenant, api_client, tea, change, code):
    response = make_po(api_client, **change)
    assert response.status_code == 422 and response.json()["error"]["code"] == code
    assert not PurchaseOrder.objects.exists()


def test_purchase_orders_of_another_shop_are_404(tenant, other_tenant, api_client, other_api_client, tea):
    WarehouseFactory(tenant=other_tenant, code="MAIN")
    stocked_product(other_tenant, sku="TEA", on_hand=0)
    po = make_po(api_client).json()
    assert other_api_client.get(f"/api/v1/purchase-orders/{po['id']}").status_code == 404
    receive = post(
        other_api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": [{"sku": "TEA", "quantity": 1}]}
    )
    assert receive.status_code == 404
    rls.bind(tenant.pk)
    assert PurchaseOrder.objects.get(pk=po["id"]).state == "ordered"


def test_the_same_sku_twice_is_one_line_keeping_the_cost_either_gives(tenant, client_for, tea):
    response = client_for(Role.MANAGER).post(
        reverse("inventory:purchase_new"), {"supplier": "Tea Co", "warehouse": "MAIN", "lines": "TEA 10 2.00\nTEA 5"}
    )
    assert response.status_code in (200, 302)
    line = PurchaseOrder.objects.get().lines.get()
    assert (line.quantity, line.cost) == (15, Decimal("2.00"))


def test_a_cost_the_form_cannot_keep_is_refused_not_rounded(tenant, client_for, tea):
    response = client_for(Role.MANAGER).post(
        reverse("inventory:purchase_new"), {"supplier": "Tea Co", "warehouse": "MAIN", "lines": "TEA 1000 2.555"}
    )
    assert "Cost of TEA must have at most two decimals." in response.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_a_cancelled_purchase_order_receives_nothing(tenant, api_client, tea):
    po = make_po(api_client).json()
    purchasing.cancel_purchase_order(order=PurchaseOrder.objects.get(pk=po["id"]))
    response = post(
        api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": [{"sku": "TEA", "quantity": 1}]}
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "purchase_order_closed"


def test_a_split_off_child_is_reserved_the_moment_its_stock_is_received(
    tenant, api_client, tea, django_capture_on_commit_callbacks
):
    mug = stocked_product(tenant, sku="MUG", on_hand=5)
    older = move(place_order(tenant, [(tea, 2)]), "confirmed")
    reserve_order(order=older, actor=SYSTEM)
    parent = move(place_order(tenant, [(mug, 1), (tea, 3)]), "confirmed")
    reserve_order(order=parent, actor=SYSTEM)
    child = families.split_unavailable(order=parent, actor=SYSTEM)
    fresh = place_order(tenant, [(tea, 1)])  # new, not accepted yet: not served by a delivery
    po = make_po(api_client, lines=[{"sku": "TEA", "quantity": 4}]).json()
    post(api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": [{"sku": "TEA", "quantity": 4}]})
    with django_capture_on_commit_callbacks(execute=True):  # the event's work, then the task it queues
        drain()
    reserved = {o.pk: sum(ln.reserved for ln in o.lines.all()) for o in Order.objects.all()}
    assert reserved[child.pk] == 3  # the split-off child first
    assert reserved[older.pk] == 1  # then the oldest, with what is left
    assert reserved[fresh.pk] == 0
    assert api_client.get(f"/api/v1/orders/{child.pk}").json()["lines"][0]["reserved"] == 3


def test_purchase_screens_create_list_and_receive_by_scan(tenant, client_for, tea):
    manager = client_for(Role.MANAGER)
    created = manager.post(
        reverse("inventory:purchase_new"),
        {"supplier": "Tea Co", "warehouse": "MAIN", "expected_at": "2099-12-20", "lines": "TEA 3 2.50"},
    )
    po = PurchaseOrder.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse("inventory:purchase", args=[po.pk])
    assert po.lines.get().cost == Decimal("2.50")
    listing = manager.get(reverse("inventory:purchases")).content.decode()
    assert po.number in listing and "Tea Co" in listing
    url = reverse("inventory:purchase_scan", args=[po.pk])
    scanned = manager.post(url, {"code": tea.barcode}, HTTP_HX_REQUEST="true")
    assert scanned.status_code == 200 and "1 of 3" in scanned.content.decode()
    wrong = manager.post(url, {"code": "NOT-ON-IT"}, HTTP_HX_REQUEST="true")
    assert "is not on" in wrong.content.decode()
    assert StockLevel.objects.get(product=tea).on_hand == 1
    bad = manager.post(reverse("inventory:purchase_new"), {"supplier": "", "warehouse": "MAIN", "lines": "TEA x"})
    assert bad.status_code == 200 and PurchaseOrder.objects.count() == 1


def test_a_negative_quantity_received_by_form_is_refused_in_words(tenant, client_for, tea):
    po = purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 2)]
    )
    line = po.lines.get()
    answer = client_for(Role.MANAGER).post(
        reverse("inventory:purchase_receive", args=[po.pk]), {f"qty-{line.pk}": "-5"}, follow=True
    )
    assert "Quantities must be whole numbers from 0 to 1,000,000." in answer.content.decode()
    assert StockLevel.objects.filter(product=tea, on_hand__gt=0).count() == 0


def test_purchase_screens_are_for_the_office_and_warehouse_only(tenant, other_tenant, client_for, tea):
    po = purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 2)]
    )
    assert client_for(Role.COURIER).get(reverse("inventory:purchases")).status_code == 403
    assert client_for(Role.PACKER).get(reverse("inventory:purchase", args=[po.pk])).status_code == 200
    assert client_for(Role.PACKER).get(reverse("inventory:purchase_new")).status_code == 403
    foreign = client_for(Role.MANAGER, on_tenant=other_tenant)
    assert foreign.get(reverse("inventory:purchase", args=[po.pk])).status_code == 404


def test_waiting_lines_show_their_expected_date_and_hear_when_it_moves(tenant, client_for, tea):
    import datetime

    order = move(place_order(tenant, [(tea, 2)]), "confirmed")
    po = purchasing.create_purchase_order(
        tenant=tenant,
        supplier="Tea Co",
        warehouse_code="MAIN",
        expected_at=datetime.date(2099, 12, 15),
        lines=[purchasing.PurchaseLine("TEA", 5)],
    )
    manager = client_for(Role.MANAGER)
    page = manager.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "expected 15 Dec" in page
    refused = manager.post(reverse("inventory:purchase_expected", args=[po.pk]), {"expected_at": "someday"})
    assert refused.status_code == 302 and PurchaseOrder.objects.get(pk=po.pk).expected_at.day == 15
    manager.post(reverse("inventory:purchase_expected", args=[po.pk]), {"expected_at": "2099-12-20"})
    drain()
    note = order.activities.get(kind="note").changes["text"]
    assert note == f"Expected date of purchase order {po.number} moved: 2099-12-15 → 2099-12-20"
    assert "expected 20 Dec" in manager.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert client_for(Role.PACKER).post(reverse("inventory:purchase_expected", args=[po.pk])).status_code == 403


def test_the_delivery_promise_counts_stock_incoming_stock_and_the_window(tenant, api_client, tea):
    import datetime

    from django.utils import timezone

    from notifications.models import DeliveryWindow

    DeliveryWindow.objects.create(tenant=tenant, delivery_method="courier", days_min=1, days_max=3)
    post(api_client, "/api/v1/stock/receipts", {"warehouse": "MAIN", "lines": [{"sku": "TEA", "quantity": 2}]})
    expected = timezone.localdate() + datetime.timedelta(days=10)
    purchasing.create_purchase_order(
        tenant=tenant,
        supplier="Tea Co",
        warehouse_code="MAIN",
        expected_at=expected,
        lines=[purchasing.PurchaseLine("TEA", 5)],
    )
    today = timezone.localdate()

    def promise(**params):
        return api_client.get("/api/v1/delivery-promise", {"sku": "TEA", "method": "courier", **params})

    now = promise(quantity=2).json()
    assert (now["from_stock"], now["ships_on"]) == (True, today.isoformat())
    assert now["delivery_to"] == (today + datetime.timedelta(days=3)).isoformat()
    later = promise(quantity=6).json()
    assert (later["from_stock"], later["ships_on"]) == (False, expected.isoformat())
    assert later["delivery_from"] == (expected + datetime.timedelta(days=1)).isoformat()
    never = promise(quantity=8).json()
    assert never["ships_on"] is None and never["delivery_from"] is None
    assert promise(sku="NOPE").status_code == 422 and promise(quantity=0).status_code == 422
    assert api_client.get("/api/v1/delivery-promise").status_code == 422


def test_the_purchase_order_prints_as_a_pdf_for_the_supplier(tenant, tea, client_for):
    order = purchasing.create_purchase_order(
        tenant=tenant,
        supplier="Tea Co",
        warehouse_code="MAIN",
        lines=[purchasing.PurchaseLine(tea.sku, 24, Decimal("2.50"))],
    )
    url = reverse("inventory:purchase_pdf", args=[order.pk])
    answer = client_for(Role.PACKER).get(url)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and order.number in answer["Content-Disposition"]
    page = client_for(Role.MANAGER).get(reverse("inventory:purchase", args=[order.pk])).content.decode()
    assert url in page


def test_a_shop_can_reserve_waiting_orders_by_hand_instead(
    tenant, api_client, tea, client_for, django_capture_on_commit_callbacks
):
    assert client_for(Role.MANAGER).post(reverse("oms:serve_waiting"), {}).status_code == 403
    client_for(Role.ADMIN).post(reverse("oms:serve_waiting"), {})  # unticked: off
    tenant.refresh_from_db()
    assert tenant.serve_waiting_on_arrival is False
    waiting = move(place_order(tenant, [(tea, 2)]), "confirmed")
    po = make_po(api_client, lines=[{"sku": "TEA", "quantity": 4}]).json()
    post(api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": [{"sku": "TEA", "quantity": 4}]})
    with django_capture_on_commit_callbacks(execute=True):
        drain()
    assert sum(line.reserved for line in waiting.lines.all()) == 0  # left for a person to reserve
    client_for(Role.ADMIN).post(reverse("oms:serve_waiting"), {"enabled": "on"})
    tenant.refresh_from_db()
    assert tenant.serve_waiting_on_arrival is True
    page = client_for(Role.ADMIN).get(reverse("oms:settings")).content.decode()
    assert 'data-testid="serve-waiting"' in page


def test_an_expected_date_in_the_past_is_refused_and_changes_nothing(tenant, api_client, client_for, tea):
    import datetime

    from django.utils import timezone

    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    refused = make_po(api_client, expected_at=yesterday)
    assert refused.status_code == 422 and "has passed" in refused.json()["error"]["message"]
    assert not PurchaseOrder.objects.exists()
    assert make_po(api_client, expected_at=timezone.localdate().isoformat()).status_code == 201  # today is fine
    po = PurchaseOrder.objects.get()
    manager = client_for(Role.MANAGER)
    answer = manager.post(
        reverse("inventory:purchase_expected", args=[po.pk]), {"expected_at": "1999-01-01"}, follow=True
    )
    assert "has passed" in answer.content.decode()
    assert PurchaseOrder.objects.get(pk=po.pk).expected_at == timezone.localdate()


def test_waiting_orders_are_served_even_when_the_broker_is_down_as_the_stock_event_is_dispatched(
    tenant, api_client, tea, monkeypatch, django_capture_on_commit_callbacks
):
    """The event is handled once its dispatch commits: a task the broker refused then is asked for by no sweep."""
    from kombu.exceptions import OperationalError

    from oms.tasks import sweep_outbox
    from orders.tasks import serve_waiting

    waiting = move(place_order(tenant, [(tea, 2)]), "confirmed")
    po = make_po(api_client, lines=[{"sku": "TEA", "quantity": 4}]).json()
    post(api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": [{"sku": "TEA", "quantity": 4}]})

    def refused(*args, **kwargs):
        raise OperationalError("the broker is away")

    with monkeypatch.context() as outage, django_capture_on_commit_callbacks(execute=True):
        outage.setattr(serve_waiting, "apply_async", refused)
        drain()
    with django_capture_on_commit_callbacks(execute=True):  # the broker is back, the sweeps run
        sweep_outbox(older_than_seconds=0)
        drain()
    assert sum(line.reserved for line in waiting.lines.all()) == 2


def test_a_split_off_child_waiting_in_a_new_group_status_is_served_too(
    tenant, api_client, tea, django_capture_on_commit_callbacks
):
    from orders.models import Group, OrderStatus, StatusPurpose
    from orders.services.settings import save_status

    # The shop's split-off orders start in a status of group "new" (a purpose allowed there), not "awaiting stock".
    awaiting = OrderStatus.objects.get(tenant=tenant, purpose=StatusPurpose.SPLIT_TARGET)
    fields = {"name": awaiting.name, "group": awaiting.group, "color": awaiting.color, "position": 2, "is_active": True}
    save_status(tenant=tenant, code=awaiting.code, status=awaiting, purpose="", **fields)
    save_status(
        tenant=tenant, code="back-order", name="Back order", group=Group.NEW, color="#123456", position=1,
        is_active=True, purpose=StatusPurpose.SPLIT_TARGET,
    )  # fmt: skip
    mug = stocked_product(tenant, sku="MUG", on_hand=5)
    parent = move(place_order(tenant, [(mug, 1), (tea, 3)]), "confirmed")
    reserve_order(order=parent, actor=SYSTEM)
    child = families.split_unavailable(order=parent, actor=SYSTEM)
    assert child.status.code == "back-order" and child.group == "new"
    po = make_po(api_client, lines=[{"sku": "TEA", "quantity": 3}]).json()
    post(api_client, f"/api/v1/purchase-orders/{po['id']}/receive", {"lines": [{"sku": "TEA", "quantity": 3}]})
    with django_capture_on_commit_callbacks(execute=True):
        drain()
    assert sum(ln.reserved for ln in child.lines.all()) == 3


def test_a_quantity_of_thousands_of_digits_received_by_form_is_refused_in_words(tenant, client_for, tea):
    po = purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 2)]
    )
    line = po.lines.get()
    answer = client_for(Role.MANAGER).post(
        reverse("inventory:purchase_receive", args=[po.pk]), {f"qty-{line.pk}": "9" * 5000}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200
    assert "Quantities must be whole numbers from 0 to 1,000,000." in answer.content.decode()
    assert StockLevel.objects.filter(product=tea, on_hand__gt=0).count() == 0


@pytest.mark.parametrize("day", ["9999-12-31", "2200-01-01"])
def test_an_expected_date_a_century_ahead_is_refused_and_changes_nothing(tenant, client_for, tea, day):
    """9999-12-31 was taken, and every delivery promise for the product then failed adding its window to it."""
    manager = client_for(Role.MANAGER)
    answer = manager.post(
        reverse("inventory:purchase_new"),
        {"supplier": "Tea Co", "warehouse": "MAIN", "lines": "TEA 5", "expected_at": day},
    )
    assert answer.status_code == 200 and "more than a hundred years ahead" in answer.content.decode()
    assert not PurchaseOrder.objects.exists()
    po = purchasing.create_purchase_order(
        tenant=tenant, supplier="Tea Co", warehouse_code="MAIN", lines=[purchasing.PurchaseLine("TEA", 2)]
    )
    answer = manager.post(reverse("inventory:purchase_expected", args=[po.pk]), {"expected_at": day}, follow=True)
    assert "more than a hundred years ahead" in answer.content.decode()
    po.refresh_from_db()
    assert po.expected_at is None

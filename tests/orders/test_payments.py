"""An order's money adds up: payments, refunds, split, copy, the API contract (API.md "Payments") and the panel."""

import json
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.urls import reverse

from oms import rls
from oms.models import Event, Role
from orders.errors import DuplicateExternalId, InvalidPayment, RefundExceedsPaid
from orders.models import Order, OrderActivity, Payment
from orders.services import editing, families, payments
from orders.services.reservations import reserve_order
from orders.words import Words

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def paid_order(tenant, total="30.00", **fields):
    product = stocked_product(tenant, price=total, on_hand=10)
    return place_order(tenant, [(product, 1)], **fields)


def test_status_follows_the_payments(tenant):
    order = paid_order(tenant)
    assert (order.payment_status, order.paid, order.due) == ("unpaid", Decimal("0.00"), Decimal("30.00"))
    payments.record_payment(order=order, amount="10.00", method="card", actor=SYSTEM)
    order.refresh_from_db()
    assert (order.payment_status, order.paid, order.due) == ("partially_paid", Decimal("10.00"), Decimal("20.00"))
    payments.record_payment(order=order, amount="20", method="cash", actor=SYSTEM)
    order.refresh_from_db()
    assert (order.payment_status, order.due) == ("paid", Decimal("0.00"))
    payments.record_refund(order=order, amount="30.00", method="card", actor=SYSTEM)
    order.refresh_from_db()
    assert (order.payment_status, order.paid) == ("refunded", Decimal("0.00"))
    kinds = list(Event.objects.filter(kind="order.payment_changed").values_list("payload__to", flat=True))
    assert kinds == ["partially_paid", "paid", "refunded"]
    timeline = list(order.activities.filter(kind="payment").values_list("changes__amount", flat=True))
    assert timeline == ["10.00", "20.00", "30.00"]


@pytest.mark.parametrize(
    "amount", ["0", "-5", "abc", "1.001", "NaN", "Infinity", "1e20", "1e29", "1E+999999999", "", " "]
)
def test_bad_amounts_are_refused_and_write_nothing(tenant, amount):
    order = paid_order(tenant)
    with pytest.raises(InvalidPayment):
        payments.record_payment(order=order, amount=amount, method="card", actor=SYSTEM)
    assert not Payment.objects.exists()


def test_a_refund_never_exceeds_what_was_paid(tenant):
    order = paid_order(tenant)
    payments.record_payment(order=order, amount="10.00", method="card", actor=SYSTEM)
    with pytest.raises(RefundExceedsPaid):
        payments.record_refund(order=order, amount="10.01", method="card", actor=SYSTEM)
    assert Payment.objects.filter(kind="refund").count() == 0


def test_an_external_id_is_one_payment(tenant):
    order = paid_order(tenant)
    payments.record_payment(order=order, amount="5.00", method="card", external_id="psp-1", actor=SYSTEM)
    with pytest.raises(DuplicateExternalId):
        payments.record_payment(order=order, amount="5.00", method="card", external_id="psp-1", actor=SYSTEM)
    order.refresh_from_db()
    assert order.paid == Decimal("5.00")


def test_a_new_line_on_a_paid_order_makes_it_partly_paid(tenant):
    order = paid_order(tenant, payment_status="paid")
    assert order.payment_status == "paid"
    editing.add_line(order=order, product=stocked_product(tenant), quantity=1, price=Decimal("5.00"), actor=SYSTEM)
    order.refresh_from_db()
    assert (order.payment_status, order.due) == ("partially_paid", Decimal("5.00"))


def test_a_split_moves_the_moved_lines_share_of_what_was_paid(tenant):
    in_stock = stocked_product(tenant, price="30.00", on_hand=5)
    short = stocked_product(tenant, price="20.00", on_hand=0)
    order = place_order(tenant, [(in_stock, 1), (short, 1)], payment_status="paid", payment_method="card")
    reserve_order(order=order, actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    order.refresh_from_db()
    child.refresh_from_db()
    assert (order.total, order.paid, order.payment_status) == (Decimal("30.00"), Decimal("30.00"), "paid")
    assert (child.total, child.paid, child.payment_status) == (Decimal("20.00"), Decimal("20.00"), "paid")
    family_paid = sum(o.paid for o in Order.objects.filter(root_id=order.pk))
    assert family_paid == Decimal("50.00")  # nothing created, nothing lost
    moved = Payment.objects.filter(method="transfer").order_by("pk")
    assert [(p.order_id, p.kind, p.moved_with_id) for p in moved] == [
        (order.pk, "refund", child.pk),
        (child.pk, "payment", order.pk),
    ]
    timeline = OrderActivity.objects.filter(order=child, kind="payment").get()
    assert "moved within the family" in Words(tenant.pk).entry(timeline)


def test_a_refund_by_a_method_called_transfer_is_a_refund(tenant, api_client):
    """A client may name a bank transfer "transfer": only money moved by a split (it names the other order) is
    not a refund to the customer."""
    order = paid_order(tenant, payment_status="paid")
    path = f"/api/v1/orders/{order.pk}/payments"
    refund = post(api_client, path, {"amount": "30.00", "method": "transfer", "kind": "refund"})
    assert refund.status_code == 201, refund.content
    order.refresh_from_db()
    assert (order.paid, order.payment_status) == (Decimal("0.00"), "refunded")
    timeline = OrderActivity.objects.filter(order=order, kind="payment").latest("pk")
    assert Words(tenant.pk).entry(timeline) == "Refund of 30.00 by transfer"


def test_a_partly_paid_split_moves_a_proportional_share(tenant):
    in_stock = stocked_product(tenant, price="30.00", on_hand=5)
    short = stocked_product(tenant, price="10.00", on_hand=0)
    order = place_order(tenant, [(in_stock, 1), (short, 1)])
    payments.record_payment(order=order, amount="20.00", method="card", actor=SYSTEM)
    reserve_order(order=order, actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    order.refresh_from_db()
    child.refresh_from_db()
    assert (order.paid, child.paid) == (Decimal("15.00"), Decimal("5.00"))
    assert order.payment_status == child.payment_status == "partially_paid"


def test_a_copy_of_a_paid_order_starts_unpaid(tenant):
    order = paid_order(tenant, payment_status="paid")
    copy = families.copy_order(order=order, actor=SYSTEM)
    copy.refresh_from_db()
    assert (copy.payment_status, copy.paid, copy.due) == ("unpaid", Decimal("0.00"), copy.total)
    order.refresh_from_db()
    assert order.payment_status == "paid"


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_take_back_more_than_was_paid(tenant):
    order = paid_order(tenant)
    payments.record_payment(order=order, amount="10.00", method="card", actor=SYSTEM)
    barrier, outcomes = threading.Barrier(2), []

    def refund():
        try:
            rls.bind(tenant.pk)
            barrier.wait(timeout=30)
            payments.record_refund(order=Order.objects.get(pk=order.pk), amount="6.00", method="card", actor=SYSTEM)
            outcomes.append("ok")
        except RefundExceedsPaid:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    order.refresh_from_db()
    assert order.paid == Decimal("4.00")


# --- API.md "Payments" ---------------------------------------------------------------------------------------


def test_api_records_and_lists_payments(tenant, api_client):
    order = paid_order(tenant)
    path = f"/api/v1/orders/{order.pk}/payments"
    first = post(api_client, path, {"amount": "12.50", "method": "card", "external_id": "psp-9"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert set(body) == {"id", "amount", "method", "kind", "external_id", "created_at"}
    assert (body["amount"], body["kind"], body["external_id"]) == ("12.50", "payment", "psp-9")
    refund = post(api_client, path, {"amount": "2.50", "method": "card", "kind": "refund"})
    assert refund.status_code == 201 and refund.json()["kind"] == "refund"
    listed = api_client.get(path).json()["results"]
    assert [row["amount"] for row in listed] == ["12.50", "2.50"]
    shown = api_client.get(f"/api/v1/orders/{order.pk}").json()["payment"]
    assert (shown["status"], shown["paid"], shown["due"]) == ("partially_paid", "10.00", "20.00")


def test_api_payment_list_is_a_contract_list_with_pages(tenant, api_client):
    """API.md "General": lists take ?page=N&page_size=M and answer {"results", "count", "next"}."""
    order = paid_order(tenant)
    for amount in ("1.00", "2.00", "3.00"):
        payments.record_payment(order=order, amount=amount, method="card", actor=SYSTEM)
    path = f"/api/v1/orders/{order.pk}/payments"
    first = api_client.get(path, {"page_size": 2}).json()
    assert set(first) == {"results", "count", "next"}
    assert ([row["amount"] for row in first["results"]], first["count"]) == (["1.00", "2.00"], 3)
    last = api_client.get(first["next"]).json()
    assert ([row["amount"] for row in last["results"]], last["count"], last["next"]) == (["3.00"], 3, None)
    assert api_client.get(path, {"page_size": 201}).status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "0", "method": "card"}, 422, "invalid"),
        ({"amount": "-1.00", "method": "card"}, 422, "invalid"),
        ({"amount": "ten", "method": "card"}, 422, "invalid"),
        ({"amount": "1.005", "method": "card"}, 422, "invalid"),
        ({"amount": "5.00", "method": "card", "kind": "gift"}, 422, "invalid"),
        ({"amount": "5.00"}, 422, "invalid"),
        ({"amount": "99.00", "method": "card", "kind": "refund"}, 409, "refund_exceeds_paid"),
        ({"amount": "1.00", "method": "card", "external_id": "used"}, 409, "duplicate_external_id"),
    ],
)
def test_api_refuses_bad_payments_with_the_contract_errors(tenant, api_client, body, status, code):
    order = paid_order(tenant)
    payments.record_payment(order=order, amount="10.00", method="card", external_id="used", actor=SYSTEM)
    response = post(api_client, f"/api/v1/orders/{order.pk}/payments", body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert Payment.objects.count() == 1


def test_api_payment_idempotency_key_replays_the_first_answer(tenant, api_client):
    order = paid_order(tenant)
    path = f"/api/v1/orders/{order.pk}/payments"
    first = post(api_client, path, {"amount": "5.00", "method": "card"}, HTTP_IDEMPOTENCY_KEY="k1")
    again = post(api_client, path, {"amount": "5.00", "method": "card"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = post(api_client, path, {"amount": "6.00", "method": "card"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert Payment.objects.count() == 1


def test_api_payments_of_another_shop_are_404(tenant, other_tenant, api_client, client):
    foreign = paid_order(other_tenant)
    assert post(api_client, f"/api/v1/orders/{foreign.pk}/payments", {"amount": "1", "method": "x"}).status_code == 404
    assert api_client.get(f"/api/v1/orders/{foreign.pk}/payments").status_code == 404
    assert client.get(f"/api/v1/orders/{foreign.pk}/payments").status_code == 401
    assert not Payment.objects.exists()


def test_api_order_created_paid_gets_one_payment_of_its_total(tenant, api_client):
    stocked_product(tenant, sku="MUG", price="12.00")
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": "MUG", "quantity": 2}], "payment": {"status": "paid"}}
    created = post(api_client, "/api/v1/orders", body).json()
    assert created["payment"]["status"] == "paid" and created["payment"]["due"] == "0.00"
    assert [p["amount"] for p in api_client.get(f"/api/v1/orders/{created['id']}/payments").json()["results"]] == [
        "24.00"
    ]


@pytest.mark.parametrize(("method", "recorded"), [(None, "prepaid"), ("   ", "prepaid"), ("card", "card")])
def test_an_order_created_paid_names_how_and_announces_the_change(tenant, api_client, method, recorded):
    stocked_product(tenant, sku="MUG", price="12.00")
    payment = {"status": "paid"} | ({"method": method} if method is not None else {})
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": "MUG", "quantity": 1}], "payment": payment}
    created = post(api_client, "/api/v1/orders", body)
    assert created.status_code == 201, created.content
    order_id = created.json()["id"]
    [row] = api_client.get(f"/api/v1/orders/{order_id}/payments").json()["results"]
    assert (row["method"], row["amount"]) == (recorded, "12.00")
    announced = Event.objects.filter(kind="order.payment_changed", payload__order_id=order_id)
    assert [(e.payload["from"], e.payload["to"]) for e in announced] == [("unpaid", "paid")]
    assert list(
        OrderActivity.objects.filter(order_id=order_id, kind="payment").values_list("changes__amount", flat=True)
    ) == ["12.00"]


# --- the payments panel on the order page -------------------------------------------------------------------


def test_manager_records_a_payment_and_a_refund_on_the_order_page(tenant, client_for):
    order = paid_order(tenant)
    manager = client_for(Role.MANAGER)
    url = reverse("orders:add_payment", args=[order.pk])
    page = manager.post(url, {"kind": "payment", "amount": "30.00", "method": "cash"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and 'data-testid="payment-status">Paid<' in page.content.decode()
    refused = manager.post(url, {"kind": "refund", "amount": "31.00", "method": "cash"}, HTTP_HX_REQUEST="true")
    assert "more than the 30.00 paid" in refused.content.decode()
    bad = manager.post(url, {"kind": "payment", "amount": "-1", "method": "cash"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    assert Payment.objects.count() == 1


def test_more_than_is_due_is_recorded_only_when_asked_twice(tenant, client_for):
    order = paid_order(tenant)  # 30.00 due
    manager = client_for(Role.MANAGER)
    url = reverse("orders:add_payment", args=[order.pk])
    typo = {"kind": "payment", "amount": "3000.00", "method": "cash"}
    first = manager.post(url, typo, HTTP_HX_REQUEST="true").content.decode()
    assert "That is 2970.00 more than the 30.00 due." in first and 'name="over_due" value="3000.00"' in first
    assert not Payment.objects.exists()
    other = manager.post(url, {**typo, "amount": "300.00", "over_due": "3000.00"}, HTTP_HX_REQUEST="true")
    assert "more than the 30.00 due" in other.content.decode() and not Payment.objects.exists()  # another amount
    manager.post(url, {**typo, "over_due": "3000.00"}, HTTP_HX_REQUEST="true")
    order.refresh_from_db()
    assert (order.paid, order.due) == (Decimal("3000.00"), Decimal("-2970.00"))


def test_warehouse_and_delivery_staff_cannot_record_payments(tenant, other_tenant, client_for):
    order = paid_order(tenant)
    url = reverse("orders:add_payment", args=[order.pk])
    for role in (Role.PACKER, Role.COURIER, Role.ADMIN):
        assert client_for(role).post(url, {"kind": "payment", "amount": "1", "method": "x"}).status_code == 403
    foreign = paid_order(other_tenant)
    foreign_url = reverse("orders:add_payment", args=[foreign.pk])
    assert client_for().post(foreign_url, {"kind": "payment", "amount": "1", "method": "x"}).status_code == 404
    assert not Payment.objects.exists()

"""The customer's tracking page: a signed link, no login, nothing internal."""

import base64
import json
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse, set_script_prefix

from notifications.services import tracking
from orders.services import editing, reservations

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(tenant):
    order = place_order(
        tenant,
        [(stocked_product(tenant, name="Blue teapot"), 2)],
        comment="Customer is rude, check payment twice",
        delivery_method="pickup point",
    )
    editing.add_note(order=order, text="INTERNAL NOTE 42", actor=SYSTEM)
    order.customer.tags = ["BAD"]
    order.customer.save()
    return move(order, "confirmed", "awaiting-stock")


def test_signed_link_shows_the_order_without_login(order, tenant):
    tracking.save_delivery_window(tenant=tenant, delivery_method="pickup point", days_min=2, days_max=4)
    tracking.record_shipment_info(
        tenant_id=tenant.pk,
        order_id=order.pk,
        info={
            "carrier": "FastPost",
            "tracking_number": "FP-77",
            "tracking_url": "https://fastpost.example/t/FP-77",
            "pickup_address": "1 Main St",
            "pickup_hours": "9–21",
        },
    )
    response = Client().get(tracking.tracking_path(order))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Order {order.number}" in html and "2 × Blue teapot" in html
    assert "Order accepted" in html and "Arrived at the pickup point" in html and "Expected delivery" in html
    assert "https://fastpost.example/t/FP-77" in html
    assert response["X-Robots-Tag"] == "noindex"


def test_nothing_internal_is_shown(order):
    other = place_order(order.tenant, [(stocked_product(order.tenant), 1)])
    html = Client().get(tracking.tracking_path(order)).content.decode()
    for secret in ("rude", "INTERNAL NOTE", "Awaiting stock", "awaiting-stock", "BAD", other.number, "Confirmed"):
        assert secret not in html


def test_an_altered_link_answers_404(order):
    token = tracking.tracking_token(order)
    assert Client().get(f"/alerts/track/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}/").status_code == 404
    other = place_order(order.tenant, [(stocked_product(order.tenant), 1)])
    claim = json.dumps({"t": order.tenant_id, "o": other.pk}, separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(claim).rstrip(b"=").decode() + ":" + token.split(":", 1)[1]
    assert forged != token
    assert Client().get(f"/alerts/track/{forged}/").status_code == 404
    assert Client().get("/alerts/track/garbage/").status_code == 404


def test_the_link_is_the_one_django_reverses_under_any_script_prefix(order):
    """The path is reversed once per script prefix and the token put in its place (`tracking_path`)."""
    other = place_order(order.tenant, [(stocked_product(order.tenant), 1)])
    for prefix in ("/", "/shop/", "/", "/b c/"):
        set_script_prefix(prefix)
        try:
            for each in (order, other):
                expected = reverse("notifications:track", args=[tracking.tracking_token(each)])
                assert tracking.tracking_path(each) == expected
                assert expected.startswith(quote(prefix))
        finally:
            set_script_prefix("/")


def test_the_link_does_not_reveal_the_order_id_in_clear(order):
    token = tracking.tracking_token(order)
    assert len(token) > 30


def test_delivered_order_shows_every_step_done(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)], delivery_method="courier")
    order = move(order, "confirmed")
    reservations.reserve_order(order=order, actor=SYSTEM)
    order = move(order, "assembling", "packed")
    for fact in ("packing_verified_at", "handed_over_at"):
        editing.record_shipment_fact(order=order, fact=fact, actor=SYSTEM)
    order = move(order, "handed-over")
    editing.record_shipment_fact(order=order, fact="delivered_at", actor=SYSTEM)
    order = move(order, "delivered")
    steps = tracking.customer_timeline(order)
    assert [s.key for s in steps] == ["accepted", "packed", "handed", "delivered"]
    assert all(s.done for s in steps)

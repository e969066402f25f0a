"""Internal codes reach users only through `orders.words`, in the shop's own names."""

import pytest
from django.urls import reverse

from orders.models import OrderStatus
from orders.services.editing import record_shipment_fact
from orders.words import Words

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_statuses_speak_the_shops_own_names(tenant):
    OrderStatus.objects.filter(tenant=tenant, code="confirmed").update(name="Approved by phone")
    words = Words(tenant.pk)
    assert words.status("confirmed") == "Approved by phone"
    assert words.event("order.status_changed") == "Order status changed"
    assert words.fact("packing_verified_at") == "Packed: every unit scanned"
    assert words.payment("unpaid") == "Unpaid" and words.group("approval") == "Approval"


def test_the_timeline_shows_names_not_codes(tenant, client_for):
    OrderStatus.objects.filter(tenant=tenant, code="confirmed").update(name="Approved by phone")
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    order = move(order, "confirmed")
    record_shipment_fact(order=order, fact="packing_verified_at", actor=SYSTEM, details={"verified": "x"})
    page = client_for().get(reverse("orders:detail", args=[order.pk])).content.decode()
    timeline = page[page.index('aria-label="Timeline"') :]
    assert "New → Approved by phone" in timeline
    assert "Packed: every unit scanned" in timeline
    assert "packing_verified_at" not in timeline and "new → confirmed" not in timeline


def test_edited_fields_are_named_in_words(tenant, client_for):
    from orders.services.editing import update_order_fields
    from orders.services.payments import record_payment

    order = place_order(tenant, [(stocked_product(tenant), 1)])
    update_order_fields(order=order, changes={"payment_method": "card"}, actor=SYSTEM)
    record_payment(order=order, amount="5.00", method="cash", external_id="R-7", actor=SYSTEM)
    page = client_for().get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Payment method: — → card" in page and "Payment of 5.00 by cash · R-7" in page
    timeline = page[page.index('aria-label="Timeline"') :]
    assert "payment_method" not in timeline[: timeline.index("</section>")]


def test_a_manager_change_names_the_managers_not_their_ids(tenant, client_for):
    from orders.services.editing import update_order_fields
    from tests.factories import make_member

    first, second = make_member(tenant, username="anna.k"), make_member(tenant, username="boris.m")
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    update_order_fields(order=order, changes={"manager_id": first.pk}, actor=SYSTEM)
    update_order_fields(order=order, changes={"manager_id": second.pk}, actor=SYSTEM)
    page = client_for().get(reverse("orders:detail", args=[order.pk])).content.decode()
    timeline = page[page.index('aria-label="Timeline"') :]
    assert "Manager: — → anna.k" in timeline and "Manager: anna.k → boris.m" in timeline
    assert f"→ {first.pk}<" not in timeline and f"{first.pk} →" not in timeline

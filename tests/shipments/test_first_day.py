"""Small defects a first day of use found on the shipment screens."""

import pytest
from django.urls import reverse

from oms.models import Role
from shipments.errors import AlreadyHandedOver
from shipments.models import CustodyTransfer
from shipments.services import custody

from .helpers import PACKER_ACTOR, handed_to_courier

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_repeated_handover_scan_to_the_same_courier_is_already_handed_over(tenant):
    order, _, courier = handed_to_courier(tenant)
    with pytest.raises(AlreadyHandedOver, match="already handed over"):
        custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier)
    assert CustodyTransfer.objects.filter(order=order).count() == 1


def test_handover_screen_answers_a_repeated_scan_calmly(tenant, client_for):
    order, _, courier = handed_to_courier(tenant)
    response = client_for(Role.PACKER).post(
        reverse("shipments:handover"), {"to": f"courier:{courier.pk}", "code": order.number}, **HTMX
    )
    page = response.content.decode()
    assert "scan-ok" in response["HX-Trigger"]
    assert "already handed over" in page and "Refused" not in page and "repeated" in page


def _courier_client(courier, tenant):
    from tests.conftest import login

    return login(courier, tenant)


def test_route_screen_replaces_the_depart_and_close_buttons_once_they_worked(tenant):
    order, stop, courier = handed_to_courier(tenant, payment_status="paid")
    client = _courier_client(courier, tenant)
    page = client.post(reverse("shipments:route_depart", args=[stop.route.pk]), **HTMX).content.decode()
    assert 'data-testid="depart"' not in page and 'data-testid="close"' in page
    client.post(reverse("shipments:stop_deliver", args=[stop.pk]), **HTMX)
    page = client.post(reverse("shipments:route_close", args=[stop.route.pk]), **HTMX).content.decode()
    assert 'data-testid="close"' not in page and "closed" in page


def test_route_screen_shows_lateness_and_a_map_link_per_stop(tenant):
    import datetime

    from django.utils import timezone

    from shipments.models import Route

    order, stop, courier = handed_to_courier(tenant, delivery_address="5 Dock Road, Springfield")
    assert Route.objects.filter(pk=stop.route.pk).update(deadline=timezone.now() - datetime.timedelta(minutes=42))
    page = _courier_client(courier, tenant).get(reverse("shipments:route")).content.decode()
    assert 'data-testid="late"' in page and "min ago" in page
    assert "openstreetmap.org/search?query=5%20Dock%20Road%2C%20Springfield" in page


def test_route_screen_of_a_courier_on_time_says_nothing_about_lateness(tenant):
    import datetime

    from django.utils import timezone

    from shipments.models import Route

    order, stop, courier = handed_to_courier(tenant)
    assert Route.objects.filter(pk=stop.route.pk).update(deadline=timezone.now() + datetime.timedelta(hours=2))
    page = _courier_client(courier, tenant).get(reverse("shipments:route")).content.decode()
    assert 'data-testid="late"' not in page


def test_the_demo_shops_packing_queue_lists_no_order_already_packed(settings):
    from django.core.management import call_command

    from oms import rls
    from oms.models import Tenant
    from shipments import selectors

    settings.DEBUG = True
    call_command("seed_demo", orders=30)
    shop = Tenant.objects.get(slug="demo")
    rls.bind(shop.pk)
    assert not selectors.packing_queue(tenant=shop).filter(status__code="packed").exists()
    assert selectors.packed_waiting(tenant=shop).exists()


def test_the_demo_shops_delivered_orders_have_their_custody_chain(settings):
    """The demo's older orders were delivered in its history: custody says who holds them as their facts do."""
    from django.core.management import call_command

    from oms import rls
    from oms.models import Tenant
    from orders.models import Order
    from shipments.models import HolderKind
    from shipments.services.common import current_holder

    settings.DEBUG = True
    call_command("seed_demo", orders=30)
    call_command("seed_shipments_demo")
    shop = Tenant.objects.get(slug="demo")
    rls.bind(shop.pk)
    delivered = list(Order.objects.filter(tenant=shop, delivered_at__isnull=False))
    assert delivered
    assert {current_holder(order).kind for order in delivered} == {HolderKind.CUSTOMER}
    out = Order.objects.filter(tenant=shop, handed_over_at__isnull=False, delivered_at__isnull=True)
    assert all(current_holder(order).kind != HolderKind.WAREHOUSE for order in out)


def test_documents_keep_the_shops_address_on_one_line(tenant, client_for):
    import io

    from pypdf import PdfReader

    from .helpers import packed_order

    tenant.legal_name, tenant.address = "Demo Shop Ltd", "1 Market Street, Springfield"
    tenant.save()
    order = packed_order(tenant)
    for kind in ["invoice", "slip"]:
        response = client_for(Role.PACKER).get(reverse("shipments:document", args=[kind]) + f"?orders={order.pk}")
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
        assert "1 Market Street, Springfield" in text, text[:300]


def test_the_classic_favicon_path_answers_without_a_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from oms import rls
from oms.models import Role
from shipments.models import Incident, IncidentKind, PackScan
from shipments.services import routes

from .helpers import courier_of, handed_to_courier, order_to_pack, packed_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def example_hosts_resolve_publicly(monkeypatch):
    """Carrier hosts of these tests (`*.example`) resolve to a public address, as a real carrier's would."""
    from oms import http

    real = http.resolve
    monkeypatch.setattr(
        http, "resolve", lambda host, port: ["93.184.216.34"] if host.endswith(".example") else real(host, port)
    )


HTMX = {"HTTP_HX_REQUEST": "true"}
ALL_ROLES = [Role.OWNER, Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER]


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


# --- who may open what -----------------------------------------------------------------------------------------


def screens(tenant):
    order = order_to_pack(tenant)
    return order, {
        "packing": (reverse("shipments:packing"), {Role.OWNER, Role.MANAGER, Role.PACKER}),
        "station": (reverse("shipments:packing_station", args=[order.pk]), {Role.OWNER, Role.MANAGER, Role.PACKER}),
        "handover": (reverse("shipments:handover"), {Role.OWNER, Role.MANAGER, Role.PACKER}),
        "returns": (reverse("shipments:returns"), {Role.OWNER, Role.MANAGER, Role.PACKER}),
        "custody": (reverse("shipments:order_custody", args=[order.pk]), {Role.OWNER, Role.MANAGER, Role.PACKER}),
        "incidents": (reverse("shipments:incidents"), {Role.OWNER, Role.MANAGER}),
        "route": (reverse("shipments:route"), {Role.COURIER}),
        "settings": (reverse("shipments:settings"), {Role.OWNER, Role.ADMIN}),
        "slip": (
            reverse("shipments:document", args=["slip"]) + f"?orders={order.pk}",
            {Role.OWNER, Role.ADMIN, Role.MANAGER, Role.PACKER},
        ),
    }


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_screen_and_pdf_checks_the_role(tenant, client_for, role):
    _, urls = screens(tenant)
    client = client_for(role)
    for name, (url, allowed) in urls.items():
        status = client.get(url).status_code
        assert status == (200 if role in allowed else 403), (name, role, status)


def test_anonymous_users_go_to_login(tenant, client):
    _, urls = screens(tenant)
    for url, _ in urls.values():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_other_tenants_orders_answer_404(tenant, other_tenant, client_for):
    foreign = order_to_pack(other_tenant)
    mine = order_to_pack(tenant)
    packer = client_for(Role.PACKER)
    assert packer.get(reverse("shipments:packing_station", args=[foreign.pk])).status_code == 404
    assert packer.post(reverse("shipments:packing_scan", args=[foreign.pk]), {"code": "x"}).status_code == 404
    assert packer.post(reverse("shipments:packing_undo", args=[foreign.pk])).status_code == 404
    assert packer.get(reverse("shipments:order_custody", args=[foreign.pk])).status_code == 404
    for kind in ["invoice", "slip", "label"]:
        url = reverse("shipments:document", args=[kind])
        assert packer.get(url + f"?orders={foreign.pk}").status_code == 404
        assert packer.get(url + f"?orders={mine.pk},{foreign.pk}").status_code == 404
    assert packer.get(reverse("shipments:document", args=["slip"]) + "?orders=abc").status_code == 404
    assert packer.get(reverse("shipments:document", args=["nope"]) + f"?orders={mine.pk}").status_code == 404


def test_other_tenants_order_numbers_are_unknown_at_the_station(tenant, other_tenant, client_for):
    foreign = order_to_pack(other_tenant)
    response = client_for(Role.PACKER).post(reverse("shipments:packing_open"), {"order": foreign.number}, **HTMX)
    assert "scan-error" in response["HX-Trigger"]


def test_courier_sees_and_acts_only_on_their_own_route(tenant, client_for):
    _, stop, _ = handed_to_courier(tenant)
    other = client_for(Role.COURIER)
    page = other.get(reverse("shipments:route")).content.decode()
    assert stop.order.number not in page and stop.order.customer.name not in page
    assert other.post(reverse("shipments:route_depart", args=[stop.route.pk])).status_code == 404
    assert other.post(reverse("shipments:stop_deliver", args=[stop.pk])).status_code == 404
    assert other.post(reverse("shipments:stop_fail", args=[stop.pk]), {"reason": "x"}).status_code == 404


def test_handover_refuses_a_courier_of_another_tenant(tenant, other_tenant, client_for):
    order = packed_order(tenant)
    stranger = courier_of(other_tenant)
    response = client_for(Role.PACKER).post(
        reverse("shipments:handover"), {"to": f"courier:{stranger.pk}", "code": order.number}, **HTMX
    )
    assert "scan-error" in response["HX-Trigger"]
    order.refresh_from_db()
    assert order.handed_over_at is None


# --- the packing station over htmx -----------------------------------------------------------------------------


def test_scan_at_the_station_updates_counts_and_refuses_loudly(tenant, client_for):
    order = order_to_pack(tenant)
    product = order.lines.order_by("pk").first().product
    packer = client_for(Role.PACKER)
    url = reverse("shipments:packing_scan", args=[order.pk])
    ok = packer.post(url, {"code": product.barcode}, **HTMX)
    assert ok.status_code == 200 and b"<html" not in ok.content and "scan-ok" in ok["HX-Trigger"]
    assert f'data-testid="scanned-{product.sku}">1<' in ok.content.decode()
    bad = packer.post(url, {"code": "NOT-A-THING"}, **HTMX)
    assert "scan-error" in bad["HX-Trigger"] and b"Refused" in bad.content
    assert PackScan.objects.filter(order=order).count() == 1
    undo = packer.post(reverse("shipments:packing_undo", args=[order.pk]), **HTMX)
    assert f'data-testid="scanned-{product.sku}">0<' in undo.content.decode()


def test_completing_the_order_offers_the_documents(tenant, client_for):
    order = order_to_pack(tenant)
    packer = client_for(Role.PACKER)
    url = reverse("shipments:packing_scan", args=[order.pk])
    for line in order.lines.all():
        for _ in range(line.quantity):
            response = packer.post(url, {"code": line.product.sku}, **HTMX)
    assert "packing-complete" in response["HX-Trigger"]
    assert "data-open-documents" in response.content.decode()
    order.refresh_from_db()
    assert order.status.code == "packed"


def test_station_page_query_count_is_bounded(tenant, client_for, django_assert_max_num_queries):
    from tests.orders.helpers import stocked_product

    order = order_to_pack(tenant, lines=[(stocked_product(tenant), 1) for _ in range(8)])
    packer = client_for(Role.PACKER)
    with django_assert_max_num_queries(12):
        assert packer.get(reverse("shipments:packing_station", args=[order.pk])).status_code == 200


def test_packing_queue_lists_oldest_first(tenant, client_for, django_assert_max_num_queries):
    first, second = order_to_pack(tenant), order_to_pack(tenant)
    packer = client_for(Role.PACKER)
    with django_assert_max_num_queries(12):
        page = packer.get(reverse("shipments:packing")).content.decode()
    assert page.index(f'data-queue-order="{first.number}"') < page.index(f'data-queue-order="{second.number}"')


def test_plain_post_scan_works_without_htmx(tenant, client_for):
    order = order_to_pack(tenant)
    product = order.lines.first().product
    response = client_for(Role.PACKER).post(reverse("shipments:packing_scan", args=[order.pk]), {"code": product.sku})
    assert response.status_code == 302
    assert PackScan.objects.filter(order=order).count() == 1


# --- documents ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["invoice", "slip", "label"])
def test_pdf_is_valid_and_names_the_order(tenant, client_for, kind):
    order = packed_order(tenant)
    response = client_for(Role.PACKER).get(reverse("shipments:document", args=[kind]) + f"?orders={order.pk}")
    assert order.number in pdf_text(response)


def test_batch_pdf_has_a_page_per_order(tenant, client_for):
    orders = [packed_order(tenant) for _ in range(3)]
    ids = ",".join(str(o.pk) for o in orders)
    response = client_for(Role.MANAGER).get(reverse("shipments:document", args=["label"]) + f"?orders={ids}")
    text = pdf_text(response)
    assert len(PdfReader(io.BytesIO(response.content)).pages) == 3
    assert all(o.number in text for o in orders)


def test_invoice_carries_company_details(tenant, client_for):
    tenant.legal_name, tenant.tax_id = "Acme Trading Ltd", "TX-998877"
    tenant.save()
    order = packed_order(tenant)
    text = pdf_text(client_for(Role.OWNER).get(reverse("shipments:document", args=["invoice"]) + f"?orders={order.pk}"))
    assert "Acme Trading Ltd" in text and "TX-998877" in text


# --- route, handover and custody screens -------------------------------------------------------------------------


def test_handover_screen_hands_a_scanned_order_to_a_courier(tenant, client_for):
    order = packed_order(tenant)
    courier = courier_of(tenant)
    response = client_for(Role.PACKER).post(
        reverse("shipments:handover"), {"to": f"courier:{courier.pk}", "code": order.number}, **HTMX
    )
    assert "scan-ok" in response["HX-Trigger"]
    order.refresh_from_db()
    assert order.group == "delivery"


def test_courier_route_screen_delivers_and_closes(tenant, client_for):
    from tests.conftest import login

    order, stop, courier = handed_to_courier(tenant, payment_status="paid")
    client = login(courier, tenant)
    page = client.get(reverse("shipments:route")).content.decode()
    assert order.number in page and "5 Dock Road" in page
    client.post(reverse("shipments:route_depart", args=[stop.route.pk]), **HTMX)
    response = client.post(reverse("shipments:stop_deliver", args=[stop.pk]), **HTMX)
    assert b"Delivered" in response.content
    client.post(reverse("shipments:route_close", args=[stop.route.pk]), **HTMX)
    stop.route.refresh_from_db()
    assert stop.route.closed_at is not None


def test_cash_other_than_what_is_due_is_recorded_when_the_courier_confirms_it(tenant):
    from decimal import Decimal

    from shipments.models import RouteStop
    from shipments.services.custody import amount_to_collect
    from tests.conftest import login

    order, stop, courier = handed_to_courier(tenant)  # cash on delivery
    due = amount_to_collect(order)
    client = login(courier, tenant)
    client.post(reverse("shipments:route_depart", args=[stop.route.pk]), **HTMX)
    url = reverse("shipments:stop_deliver", args=[stop.pk])
    short = client.post(url, {"amount_collected": "1.00"}, **HTMX).content.decode()
    assert f"1.00 is not the {due} due" in short and 'name="confirm_amount" value="1.00"' in short
    assert RouteStop.objects.get(pk=stop.pk).result == ""  # nothing recorded yet
    client.post(url, {"amount_collected": "1.00", "confirm_amount": "1.00"}, **HTMX)
    stop = RouteStop.objects.get(pk=stop.pk)
    assert (stop.result, stop.amount_collected) == ("delivered", Decimal("1.00"))


def test_more_cash_than_is_due_is_refused_on_the_courier_screen_at_the_first_press(tenant):
    from decimal import Decimal

    from shipments.models import RouteStop
    from shipments.services.custody import amount_to_collect
    from tests.conftest import login

    order, stop, courier = handed_to_courier(tenant)
    due = amount_to_collect(order)
    client = login(courier, tenant)
    client.post(reverse("shipments:route_depart", args=[stop.route.pk]), **HTMX)
    url = reverse("shipments:stop_deliver", args=[stop.pk])
    over = f"{due + Decimal('10'):.2f}"
    for data in ({"amount_collected": over}, {"amount_collected": over, "confirm_amount": over}):
        page = client.post(url, data, **HTMX).content.decode()
        assert f"{over} is more than the {due} due on delivery" in page and "confirm_amount" not in page
        assert RouteStop.objects.get(pk=stop.pk).result == ""


def test_custody_page_shows_the_chain(tenant, client_for):
    order, _, courier = handed_to_courier(tenant)
    page = client_for(Role.MANAGER).get(reverse("shipments:order_custody", args=[order.pk])).content.decode()
    assert page.count('data-testid="custody-row"') == 1 and courier.username in page


def test_incidents_list_and_resolve(tenant, client_for):
    _, stop, _ = handed_to_courier(tenant)
    incident = routes.raise_incident(route=stop.route, kind=IncidentKind.MISSED_DEPARTURE, message="late")
    manager = client_for(Role.MANAGER)
    assert b"late" in manager.get(reverse("shipments:incidents")).content
    manager.post(reverse("shipments:incident_resolve", args=[incident.pk]))
    assert Incident.objects.get(pk=incident.pk).resolved_at is not None


def test_admin_adds_a_carrier_and_changes_settings(tenant, client_for):
    from shipments.models import Carrier, ShipmentSettings

    admin = client_for(Role.ADMIN)
    url = reverse("shipments:settings")
    assert admin.get(url).status_code == 200
    assert client_for(Role.PACKER).get(url).status_code == 403
    response = admin.post(
        url,
        {
            "form": "carrier",
            "kind": "http",
            "name": "FastParcel",
            "base_url": "https://api.fastparcel.example",
            "token": "t0k",
            "status_mapping": '{"DONE": "delivered"}',
            "poll_interval_seconds": 600,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    carrier = Carrier.objects.get(tenant=tenant, name="FastParcel")
    assert carrier.token == "t0k" and carrier.status_mapping == {"DONE": "delivered"}
    bad = admin.post(
        url,
        {
            "form": "carrier",
            "kind": "http",
            "name": "X",
            "status_mapping": '{"A": "flying"}',
            "poll_interval_seconds": 600,
        },
    )
    assert bad.status_code == 200 and b"Unknown states" in bad.content
    response = admin.post(
        url,
        {
            "form": "settings",
            "departure_deadline": "10:30",
            "end_of_day": "20:00",
            "tracking_status_map": '{"in_transit": "in-transit", "delivered": "delivered"}',
        },
    )
    assert response.status_code == 302
    assert str(ShipmentSettings.objects.get(tenant=tenant).departure_deadline) == "10:30:00"
    bad = admin.post(
        url,
        {
            "form": "settings",
            "departure_deadline": "10:30",
            "end_of_day": "20:00",
            "tracking_status_map": '{"in_transit": "no-such-status"}',
        },
    )
    assert b"No such order status" in bad.content


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COURIER])
def test_warehouse_actions_refuse_other_roles(tenant, client_for, role):
    order = order_to_pack(tenant)
    client = client_for(role)
    posts = [
        (reverse("shipments:packing_open"), {"order": order.number}),
        (reverse("shipments:packing_scan", args=[order.pk]), {"code": order.lines.first().product.sku}),
        (reverse("shipments:packing_undo", args=[order.pk]), {}),
        (reverse("shipments:handover"), {"to": "courier:1", "code": order.number}),
        (reverse("shipments:returns"), {"mode": "parcel", "code": order.number}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert not PackScan.objects.filter(order=order).exists()


@pytest.mark.parametrize("role", [Role.PACKER, Role.MANAGER, Role.OWNER])
def test_route_actions_are_for_couriers_only(tenant, client_for, role):
    _, stop, _ = handed_to_courier(tenant)
    client = client_for(role)
    for url in [
        reverse("shipments:route_depart", args=[stop.route.pk]),
        reverse("shipments:route_close", args=[stop.route.pk]),
        reverse("shipments:stop_deliver", args=[stop.pk]),
        reverse("shipments:stop_fail", args=[stop.pk]),
    ]:
        assert client.post(url, {"reason": "x"}).status_code == 403, url
    stop.route.refresh_from_db()
    assert stop.route.departed_at is None


def test_route_page_query_count_does_not_grow_with_stops(tenant, client_for, django_assert_max_num_queries):
    from tests.conftest import login

    courier = courier_of(tenant)
    for _ in range(6):
        handed_to_courier(tenant, courier=courier)
    client = login(courier, tenant)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("shipments:route")).content.decode()
    assert page.count('class="card stop') == 6


def test_order_page_shows_the_custody_panel(tenant, client_for):
    order, _, courier = handed_to_courier(tenant)
    manager = client_for(Role.MANAGER)
    page = manager.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert reverse("shipments:order_custody", args=[order.pk]) in page
    panel = manager.get(reverse("shipments:order_custody", args=[order.pk]), **HTMX).content.decode()
    assert 'data-testid="custody-panel"' in panel and "<html" not in panel and courier.username in panel


def test_admin_edits_a_carrier_keeping_its_token(tenant, other_tenant, client_for):
    from shipments.models import Carrier
    from shipments.services import config

    carrier = config.save_carrier(
        tenant=tenant,
        kind="http",
        name="FastParcel",
        base_url="https://api.fastparcel.example",
        token="secret-1",
        status_mapping={"DONE": "delivered"},
        poll_interval_seconds=600,
        is_active=True,
    )
    with rls.tenant_context(other_tenant.pk):
        foreign = config.save_carrier(tenant=other_tenant, kind="own", name="Theirs", poll_interval_seconds=600)
    admin = client_for(Role.ADMIN)
    url = reverse("shipments:settings")
    page = admin.get(url, {"edit": carrier.pk}).content.decode()
    assert "Edit FastParcel" in page and "https://api.fastparcel.example" in page and "DONE" in page
    assert "secret-1" not in page  # a stored token is never shown again
    response = admin.post(
        f"{url}?edit={carrier.pk}",
        {
            "form": "carrier",
            "carrier": carrier.pk,
            "kind": "http",
            "name": "FastParcel Express",
            "base_url": "https://api.fastparcel.example",
            "token": "",
            "status_mapping": '{"DONE": "delivered", "MOVING": "in_transit"}',
            "poll_interval_seconds": 1200,
        },
    )
    assert response.status_code == 302
    carrier.refresh_from_db()
    assert (carrier.name, carrier.poll_interval_seconds, carrier.is_active) == ("FastParcel Express", 1200, False)
    assert carrier.token == "secret-1" and carrier.status_mapping["MOVING"] == "in_transit"
    assert Carrier.objects.filter(tenant=tenant).count() == 1  # changed, not added
    # Another shop's carrier, or an id no carrier has, is not found: nothing shown, nothing changed.
    assert admin.get(url, {"edit": foreign.pk}).status_code == 404
    assert admin.get(url, {"edit": "9" * 30}).status_code == 404
    post = {"form": "carrier", "carrier": foreign.pk, "kind": "own", "name": "Mine now", "poll_interval_seconds": 60}
    assert admin.post(url, post).status_code == 404
    with rls.tenant_context(other_tenant.pk):
        assert Carrier.objects.get(pk=foreign.pk).name == "Theirs"
    assert client_for(Role.MANAGER).get(url, {"edit": carrier.pk}).status_code == 403


def test_an_internal_carrier_base_url_is_shown_next_to_its_field_and_nothing_is_saved(tenant, client_for):
    from shipments.models import Carrier

    response = client_for(Role.ADMIN).post(
        reverse("shipments:settings"),
        {
            "form": "carrier",
            "kind": "http",
            "name": "Metadata",
            "base_url": "http://169.254.169.254/latest",
            "poll_interval_seconds": 600,
        },
    )
    assert response.status_code == 200
    errors = response.context["carrier_form"].errors
    assert "internal address" in errors["base_url"][0] and "name" not in errors
    assert not Carrier.objects.filter(tenant=tenant).exists()


def test_a_scan_costs_a_fixed_number_of_statements(tenant, client_for):
    """The station's hot path, pinned: a scan that counts a unit is the request's own two (user and membership: the
    session comes from Redis; the tenant binding rides in front of the first statement of each transaction) plus the order read
    once and locked (with its status, customer and the packer's
    warehouses), its lines with their counts, their products by key (a join could walk the catalogue:
    tests/orders/test_lines_with_products.py), and the scan written; the scan completing the order adds the
    custody note, the packed status, one update of the order (fact and status), its history row, the status note
    and the event. However many lines the order has."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.orders.helpers import stocked_product

    order = order_to_pack(tenant, lines=[(stocked_product(tenant), 2) for _ in range(5)])
    codes = [line.product.barcode for line in order.lines.order_by("pk") for _ in range(line.quantity)]
    packer = client_for(Role.PACKER)
    url = reverse("shipments:packing_scan", args=[order.pk])
    counts = []
    for code in codes:
        with CaptureQueriesContext(connection) as captured:
            response = packer.post(url, {"code": code}, **HTMX)
        assert response.status_code == 200 and "scan-error" not in response["HX-Trigger"]
        counts.append(len(captured.captured_queries))
    assert "packing-complete" in response["HX-Trigger"]
    # Here the service's transaction is a savepoint inside the test's; its SAVEPOINT and RELEASE ride in front of
    # statements (oms/dbbackend/base.py), as BEGIN and COMMIT cost no statement of their own in production.
    assert counts[-1:] == [12] and counts[:-1] == [6] * (len(codes) - 1), counts


def test_after_the_last_unit_the_next_scan_opens_the_order_whose_number_it_is(tenant, client_for):
    done, following = order_to_pack(tenant), order_to_pack(tenant)
    packer = client_for(Role.PACKER)
    url = reverse("shipments:packing_scan", args=[done.pk])
    for line in done.lines.all():
        for _ in range(line.quantity):
            packer.post(url, {"code": line.product.barcode}, **HTMX)
    response = packer.post(url, {"code": following.number}, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("shipments:packing_station", args=[following.pk])
    refused = packer.post(url, {"code": "NO-SUCH-ORDER"}, **HTMX)
    assert "scan-error" in refused["HX-Trigger"] and "already packed" in refused["HX-Trigger"]


def test_a_malformed_carrier_url_gets_one_message(tenant, client_for):
    response = client_for(Role.ADMIN).post(
        reverse("shipments:settings"),
        {
            "form": "carrier",
            "kind": "http",
            "name": "Typo",
            "base_url": "https://exa mple",
            "poll_interval_seconds": 600,
        },
    )
    assert response.context["carrier_form"].errors["base_url"] == ["Enter a valid URL."]
    missing = client_for(Role.ADMIN).post(
        reverse("shipments:settings"),
        {"form": "carrier", "kind": "http", "name": "None", "base_url": "", "poll_interval_seconds": 600},
    )
    assert missing.context["carrier_form"].errors["base_url"] == ["An HTTP carrier needs its base URL."]


def test_a_label_prints_when_the_carriers_tracking_number_is_not_plain_ascii(tenant, client_for):
    from shipments.models import Carrier, Shipment

    order = packed_order(tenant)
    carrier = Carrier.objects.create(tenant=tenant, kind="sandbox", name="Почта")
    Shipment.objects.create(tenant=tenant, order=order, carrier=carrier, tracking_number="ТРЕК-Ä123")
    response = client_for(Role.PACKER).get(reverse("shipments:document", args=["label"]) + f"?orders={order.pk}")
    text = pdf_text(response)
    assert order.number in text and "123" in text


def test_the_label_of_a_partly_paid_order_says_what_is_left_to_collect(tenant, client_for):
    from orders.models import Order
    from orders.services import payments
    from tests.orders.helpers import SYSTEM

    order = packed_order(tenant)
    with rls.tenant_context(tenant.pk):
        payments.record_payment(order=order, amount=Decimal("1.00"), method="card", actor=SYSTEM)
        order = Order.objects.get(pk=order.pk)
    assert order.payment_status == "partially_paid"
    text = pdf_text(client_for(Role.PACKER).get(reverse("shipments:document", args=["label"]) + f"?orders={order.pk}"))
    assert "Collect on delivery" in text and f"{order.total - Decimal('1.00'):.2f}" in text


@pytest.mark.parametrize(
    "mapping",
    [
        '{"minutes_per_step": NaN}',
        '{"minutes_per_step": Infinity}',
        '{"minutes_per_step": 1e999}',
        '{"A\\u0000": 1}',
        '{"A": "\\ud800"}',
        "[" * 100_000,
    ],
)
def test_a_carrier_mapping_no_json_column_holds_is_refused_and_saves_nothing(tenant, client_for, mapping):
    from shipments.models import Carrier

    form = {"form": "carrier", "kind": "sandbox", "name": "Demo", "status_mapping": mapping}
    answer = client_for(Role.ADMIN).post(reverse("shipments:settings"), {**form, "poll_interval_seconds": 600})
    assert answer.status_code == 200 and b"JSON" in answer.content
    assert not Carrier.objects.filter(tenant=tenant).exists()


def test_a_tracking_map_nested_deeper_than_the_parser_goes_is_refused(tenant, client_for):
    from shipments.models import ShipmentSettings

    form = {"form": "settings", "departure_deadline": "10:30", "end_of_day": "20:00"}
    answer = client_for(Role.ADMIN).post(reverse("shipments:settings"), {**form, "tracking_status_map": "[" * 100_000})
    assert answer.status_code == 200 and b"Not valid JSON" in answer.content
    assert not ShipmentSettings.objects.filter(tenant=tenant, departure_deadline="10:30").exists()


def test_a_carrier_base_url_longer_than_the_column_is_refused_by_the_form(tenant, client_for):
    from shipments.models import Carrier

    form = {"form": "carrier", "kind": "http", "name": "Long", "status_mapping": "{}", "poll_interval_seconds": 600}
    answer = client_for(Role.ADMIN).post(
        reverse("shipments:settings"), {**form, "base_url": "https://93.184.216.34/" + "a" * 300}
    )
    assert answer.status_code == 200 and "at most 200 characters" in answer.content.decode()
    assert not Carrier.objects.filter(tenant=tenant).exists()

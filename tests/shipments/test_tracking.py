import datetime

import pytest
import time_machine
from django.utils import timezone

from inventory.models import MoveKind, StockMove
from oms.models import Event
from shipments.errors import HandoverRefused
from shipments.models import Carrier, Shipment, ShipmentSettings, TrackingEvent
from shipments.services import custody, tracking
from shipments.tasks import poll_due_shipments

from .fake_carrier import FakeCarrier
from .helpers import PACKER_ACTOR, packed_order

pytestmark = pytest.mark.django_db

MAPPING = {"ACCEPTED": "in_transit", "AT_POINT": "at_pickup_point", "HANDED": "delivered", "BACK": "returning"}


@pytest.fixture
def fake(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the fake carrier listens on 127.0.0.1
    with FakeCarrier() as server:
        yield server


def http_carrier(tenant, fake, **fields):
    return Carrier.objects.create(
        tenant=tenant,
        kind="http",
        name="FastParcel",
        base_url=fake.url,
        token=fake.token,
        status_mapping=MAPPING,
        poll_interval_seconds=600,
        **fields,
    )


def shipped(tenant, fake, **order_fields):
    carrier = http_carrier(tenant, fake)
    order = packed_order(tenant, **order_fields)
    result = custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier)
    return result.order, result.shipment


def test_handover_to_a_carrier_creates_a_shipment_with_its_tracking_number(tenant, fake):
    order, shipment = shipped(tenant, fake)
    assert shipment.tracking_number == f"FC00001-{order.number}"
    assert shipment.next_poll_at > timezone.now() and shipment.state == "created"
    assert order.group == "delivery"
    assert fake.requests[0][0] == "POST" and fake.requests[0][2] == "Bearer secret-token"


def test_carrier_refusing_the_shipment_refuses_the_handover(tenant, fake):
    carrier = http_carrier(tenant, fake)
    fake.fail_with = 503
    order = packed_order(tenant)
    with pytest.raises(HandoverRefused, match="HTTP 503"):
        custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier)
    order.refresh_from_db()
    assert order.group == "assembly" and order.handed_over_at is None


def poll_now(shipment, *, when=None):
    when = when or shipment.next_poll_at + datetime.timedelta(seconds=1)
    with time_machine.travel(when, tick=False):
        poll_due_shipments()
    shipment.refresh_from_db()
    return shipment


def test_poll_stores_events_and_maps_them_to_order_statuses(tenant, fake):
    order, shipment = shipped(tenant, fake)
    fake.add_event(shipment.tracking_number, "e1", "ACCEPTED", "2026-03-01T10:00:00Z")
    shipment = poll_now(shipment)
    order.refresh_from_db()
    assert shipment.state == "in_transit" and order.status.code == "in-transit"
    fake.add_event(shipment.tracking_number, "e2", "AT_POINT", "2026-03-01T15:00:00Z")
    shipment = poll_now(shipment)
    order.refresh_from_db()
    assert shipment.state == "at_pickup_point" and order.status.code == "at-pickup-point"
    assert list(TrackingEvent.objects.filter(shipment=shipment).values_list("external_id", flat=True)) == ["e1", "e2"]
    changes = Event.objects.filter(tenant=tenant, kind="shipment.status_changed")
    assert changes.filter(payload__state="at_pickup_point").exists()


def test_per_tenant_mapping_decides_the_order_status(tenant, fake):
    ShipmentSettings.objects.filter(tenant=tenant).update(tracking_status_map={"in_transit": ""})
    order, shipment = shipped(tenant, fake)
    fake.add_event(shipment.tracking_number, "e1", "ACCEPTED", "2026-03-01T10:00:00Z")
    shipment = poll_now(shipment)
    order.refresh_from_db()
    assert shipment.state == "in_transit" and order.status.code == "handed-over"


def test_delivered_completes_the_order_and_is_never_polled_again(tenant, fake):
    order, shipment = shipped(tenant, fake, payment_status="paid")
    fake.add_event(shipment.tracking_number, "e1", "ACCEPTED", "2026-03-01T10:00:00Z")
    fake.add_event(shipment.tracking_number, "e2", "HANDED", "2026-03-02T10:00:00Z")
    shipment = poll_now(shipment)
    order.refresh_from_db()
    assert shipment.state == "delivered" and shipment.next_poll_at is None
    assert order.status.code == "delivered" and order.delivered_at is not None
    assert (
        StockMove.objects.filter(order_line_id__in=order.lines.values("pk"), kind=MoveKind.SHIPMENT).count()
        == order.lines.count()
    )
    requests_before = len(fake.requests)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3), tick=False):
        assert poll_due_shipments() == 0
        tracking.poll_shipment(shipment_id=shipment.pk)  # even asked directly, it does not call the carrier
    assert len(fake.requests) == requests_before


def test_errors_back_off_exponentially_and_recover(tenant, fake):
    _, shipment = shipped(tenant, fake)
    fake.fail_with = 500
    delays = []
    for _ in range(3):
        due = shipment.next_poll_at
        shipment = poll_now(shipment)
        delays.append((shipment.next_poll_at - (due + datetime.timedelta(seconds=1))).total_seconds())
    assert shipment.poll_failures == 3 and "HTTP 500" in shipment.last_error
    assert delays == [1200, 2400, 4800]  # 600 s interval doubled per failure
    fake.fail_with = None
    fake.add_event(shipment.tracking_number, "e1", "ACCEPTED", "2026-03-01T10:00:00Z")
    shipment = poll_now(shipment)
    assert shipment.poll_failures == 0 and shipment.last_error == "" and shipment.state == "in_transit"


def test_unmapped_carrier_status_is_kept_as_an_error_event(tenant, fake):
    order, shipment = shipped(tenant, fake)
    fake.add_event(shipment.tracking_number, "e1", "LOST_IN_SPACE", "2026-03-01T10:00:00Z")
    shipment = poll_now(shipment)
    order.refresh_from_db()
    assert shipment.state == "error" and "LOST_IN_SPACE" in shipment.last_error
    assert order.status.code == "handed-over"


def test_carrier_answers_no_column_can_hold_are_skipped_or_cleaned(tenant, fake):
    order, shipment = shipped(tenant, fake)
    fake.add_event(shipment.tracking_number, "e1", "ACCEPTED", "2026-02-30T10:00:00Z")  # no 30 February
    fake.add_event(shipment.tracking_number, "e2", "ACCEPTED", "9999-12-31T23:59:59-23:59")  # past year 9999 in UTC
    fake.add_event(shipment.tracking_number, "e\x003", "ACC\x00EPTED", "2026-03-01T10:00:00Z", reason="a\x00b")
    shipment = poll_now(shipment)
    stored = TrackingEvent.objects.get(shipment=shipment)
    assert (stored.external_id, stored.raw_status, stored.reason) == ("e3", "ACCEPTED", "ab")
    assert shipment.state == "in_transit"


def test_polls_are_spread_over_time(tenant, fake):
    carrier = http_carrier(tenant, fake)
    shipments = []
    for _ in range(3):
        result = custody.hand_over(order=packed_order(tenant), actor=PACKER_ACTOR, carrier=carrier)
        shipments.append(result.shipment)
    assert len({s.next_poll_at for s in shipments}) == 3


def test_private_carrier_addresses_are_refused_by_default(tenant, fake, settings):
    carrier = http_carrier(tenant, fake)
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    order = packed_order(tenant)
    with pytest.raises(HandoverRefused, match="internal address"):
        custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier)
    assert fake.requests == []


def test_an_internal_carrier_address_is_refused_when_saved(tenant, settings):
    from oms.errors import DomainError
    from shipments.services.config import save_carrier

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    for url in ("http://127.0.0.1:9/", "http://169.254.169.254/", "http://[::ffff:10.0.0.1]/"):
        with pytest.raises(DomainError, match="internal address"):
            save_carrier(tenant=tenant, kind="http", name="Local", base_url=url, poll_interval_seconds=600)
    assert not Carrier.objects.filter(name="Local").exists()


def test_a_carrier_base_url_is_looked_up_outside_the_saving_transaction(tenant, settings, monkeypatch):
    from django.db import connection

    from oms import http
    from shipments.services.config import save_carrier

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    depth_at_lookup = []

    def resolve(host, port):
        depth_at_lookup.append(len(connection.atomic_blocks))
        return ["93.184.216.34"]

    monkeypatch.setattr(http, "resolve", resolve)
    depth_of_caller = len(connection.atomic_blocks)
    carrier = save_carrier(
        tenant=tenant, kind="http", name="Public", base_url="https://api.carrier.example", poll_interval_seconds=600
    )
    assert depth_at_lookup == [depth_of_caller] and carrier.pk is not None


def test_sandbox_carrier_advances_over_time(tenant):
    carrier = Carrier.objects.create(tenant=tenant, kind="sandbox", name="Sandbox", poll_interval_seconds=60)
    order = packed_order(tenant, payment_status="paid")
    shipment = custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier).shipment
    if shipment.tracking_number.endswith("7"):
        pytest.skip("this number is the sandbox's returning parcel")
    start = shipment.created_at
    for minutes, state in [(3, "in_transit"), (6, "at_pickup_point"), (10, "delivered")]:
        Shipment.objects.filter(pk=shipment.pk).update(next_poll_at=start)
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            tracking.poll_shipment(shipment_id=shipment.pk)
        shipment.refresh_from_db()
        assert shipment.state == state
    order.refresh_from_db()
    assert order.status.code == "delivered"


def test_an_older_event_reported_late_does_not_move_the_parcel_back(tenant, fake):
    order, shipment = shipped(tenant, fake)
    fake.add_event(shipment.tracking_number, "e1", "ACCEPTED", "2026-03-01T10:00:00Z")
    fake.add_event(shipment.tracking_number, "e2", "AT_POINT", "2026-03-01T15:00:00Z")
    shipment = poll_now(shipment)
    assert shipment.state == "at_pickup_point"
    # A depot's scan synchronised late: an event from before the parcel reached the pickup point.
    fake.add_event(shipment.tracking_number, "e0", "ACCEPTED", "2026-03-01T12:00:00Z")
    shipment = poll_now(shipment)
    order.refresh_from_db()
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 3
    assert shipment.state == "at_pickup_point" and order.status.code == "at-pickup-point"


def test_a_parcel_the_carrier_delivered_is_with_the_customer(tenant, fake):
    from shipments.models import CustodyTransfer
    from shipments.services.common import current_holder

    order, shipment = shipped(tenant, fake, payment_status="paid")
    fake.add_event(shipment.tracking_number, "e1", "HANDED", "2026-03-02T10:00:00Z")
    poll_now(shipment)
    order.refresh_from_db()
    assert order.delivered_at is not None
    assert current_holder(order).kind == "customer"
    last = CustodyTransfer.objects.filter(order=order).order_by("at", "pk").last()
    assert (last.from_kind, last.from_carrier_id, last.to_kind) == ("carrier", shipment.carrier_id, "customer")


def test_a_carrier_answer_nested_too_deep_to_parse_backs_off_like_any_nonsense(tenant, fake):
    _, shipment = shipped(tenant, fake)
    fake.raw_events = b"[" * 200_000  # valid so far, too deep for the JSON parser
    due = shipment.next_poll_at + datetime.timedelta(seconds=1)
    with time_machine.travel(due, tick=False):
        shipment = tracking.poll_shipment(shipment_id=shipment.pk)
    assert shipment.poll_failures == 1 and "not JSON" in shipment.last_error
    assert shipment.next_poll_at > due


@pytest.mark.parametrize("speed", ["fast", "1e300", "-2", "nan", [1]])
def test_a_sandbox_speed_that_is_no_number_of_minutes_keeps_the_default(tenant, speed):
    carrier = Carrier.objects.create(
        tenant=tenant,
        kind="sandbox",
        name="Sandbox",
        poll_interval_seconds=60,
        status_mapping={"minutes_per_step": speed},
    )
    order = packed_order(tenant, payment_status="paid")
    shipment = custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier).shipment
    Shipment.objects.filter(pk=shipment.pk).update(next_poll_at=shipment.created_at)
    with time_machine.travel(shipment.created_at + datetime.timedelta(minutes=3), tick=False):
        tracking.poll_shipment(shipment_id=shipment.pk)
    shipment.refresh_from_db()
    assert shipment.state == "in_transit" and shipment.poll_failures == 0


def test_a_poll_that_fails_in_a_way_no_one_foresaw_backs_off_instead_of_polling_every_minute(
    tenant, fake, monkeypatch, caplog
):
    _, shipment = shipped(tenant, fake)

    class Broken:
        def fetch_events(self, **kwargs):
            return [{"not": "an event"}]  # an adapter's bug: applying it raises something no one catches

    monkeypatch.setattr(tracking, "adapter_for", lambda carrier: Broken())
    due = shipment.next_poll_at
    shipment = poll_now(shipment)
    assert shipment.poll_failures == 1 and "unexpectedly" in shipment.last_error
    assert shipment.next_poll_at == due + datetime.timedelta(seconds=1) + datetime.timedelta(seconds=1200)
    assert "Polling shipment" in caplog.text

"""Outgoing webhooks: Standard Webhooks signatures checked by the `standardwebhooks` package, retries with
growing delays against a local failing server, delivery from the outbox after the worker was down."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks import Webhook

from notifications.models import Alert, DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from notifications.services import webhooks
from notifications.tasks import sweep_webhooks
from oms.models import Event, Role
from oms.tasks import sweep_outbox
from tests.factories import make_member

from .helpers import Receiver, drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_urls(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


def test_delivery_is_signed_so_a_stock_receiver_verifies_it(tenant):
    with Receiver() as receiver:
        endpoint, secret = webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        assert secret.startswith("whsec_")
        order = place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
    [request] = receiver.requests
    payload = Webhook(secret).verify(request["body"], request["headers"])
    assert payload["type"] == "order.created" and payload["data"]["order_id"] == order.pk
    assert set(payload) == {"type", "timestamp", "data"}
    event = Event.objects.get(kind="order.created")
    assert request["headers"]["webhook-id"] == str(event.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.last_status_code == 200


def test_a_wrong_secret_or_altered_body_fails_verification(tenant):
    from standardwebhooks.webhooks import WebhookVerificationError

    with Receiver() as receiver:
        webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
    request = receiver.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(request["body"], request["headers"])


def test_failures_are_retried_with_growing_delays_for_more_than_a_day(tenant):
    admin = make_member(tenant, Role.ADMIN)
    start = timezone.now().replace(microsecond=0)
    with Receiver(codes=[500]) as receiver, time_machine.travel(start, tick=False) as clock:
        endpoint, secret = webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
        delivery = WebhookDelivery.objects.get()
        gaps = []
        while delivery.state == DeliveryState.PENDING:
            assert sweep_webhooks() == 0  # not before its time
            gaps.append(delivery.next_attempt_at - timezone.now())
            clock.move_to(delivery.next_attempt_at)
            assert sweep_webhooks() == 1
            delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == webhooks.MAX_ATTEMPTS >= 8
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0]  # growing delays
    assert sum(gaps, timedelta()) >= timedelta(hours=24)
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    bodies = {r["body"] for r in receiver.requests}
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(bodies) == 1 and len(ids) == 1  # the same event id, always the same body
    codes = list(WebhookAttempt.objects.order_by("number").values_list("status_code", flat=True))
    assert codes == [500] * webhooks.MAX_ATTEMPTS
    assert not Alert.objects.filter(user=admin).exists()  # 8 failures are not yet a "long run"


def test_a_recovering_endpoint_is_delivered_on_retry(tenant):
    with Receiver(codes=[503, 200]) as receiver:
        webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
        with time_machine.travel(timezone.now() + timedelta(seconds=6)):
            sweep_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 2
    assert delivery.endpoint.consecutive_failures == 0


def test_unreachable_endpoint_is_an_attempt_with_an_error(tenant):
    webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/closed", events=["order.created"])
    place_order(tenant, [(stocked_product(tenant), 1)])
    drain()
    sweep_webhooks()
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error


def test_outbox_delivery_after_the_worker_was_down(tenant):
    """Events written while no worker ran: once one starts, each is delivered exactly once per endpoint."""
    with Receiver() as first, Receiver() as second:
        webhooks.create_endpoint(tenant=tenant, url=first.url, events=["order.created", "order.status_changed"])
        webhooks.create_endpoint(tenant=tenant, url=second.url, events=["order.status_changed"])
        product = stocked_product(tenant)
        orders = [place_order(tenant, [(product, 1)]) for _ in range(3)]
        move(orders[0], "confirmed")
        # nothing was dispatched (the test transaction never commits: as if the worker was down)
        assert Event.objects.filter(dispatched_at__isnull=True).count() >= 4
        WebhookEndpoint.objects.update(created_at=timezone.now() - timedelta(minutes=10))  # subscribed before
        Event.objects.update(
            created_at=timezone.now() - timedelta(minutes=5), next_attempt_at=timezone.now() - timedelta(minutes=5)
        )
        # the worker starts: beat runs the outbox sweep and the webhook sweep, twice over
        for _ in range(2):
            sweep_outbox()
            sweep_webhooks()
    first_ids = [r["headers"]["webhook-id"] for r in first.requests]
    second_ids = [r["headers"]["webhook-id"] for r in second.requests]
    assert len(first_ids) == 4 and len(set(first_ids)) == 4
    assert len(second_ids) == 1
    assert WebhookMessage.objects.count() == 4


def test_rotation_sends_both_signatures_for_a_day(tenant):
    with Receiver() as receiver:
        endpoint, old = webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        new = webhooks.rotate_secret(endpoint=endpoint)
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request["body"], request["headers"])
    Webhook(new).verify(request["body"], request["headers"])
    endpoint.refresh_from_db()
    later = timezone.now() + timedelta(hours=25)
    header = webhooks.signature_header(endpoint, "1", later, "{}", later)
    assert len(header.split(" ")) == 1


def test_a_long_run_of_failures_disables_the_endpoint_and_alerts_admins(tenant, monkeypatch):
    admin = make_member(tenant, Role.ADMIN)
    monkeypatch.setattr(webhooks, "DISABLE_AFTER_FAILURES", 2)
    monkeypatch.setattr(webhooks, "DISABLE_AFTER_FAILING_FOR", timedelta(0))
    endpoint, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/x", events=["order.created"])
    product = stocked_product(tenant)
    place_order(tenant, [(product, 1)])
    place_order(tenant, [(product, 1)])
    drain()
    sweep_webhooks()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "failed attempts" in endpoint.disabled_reason
    assert Alert.objects.filter(user=admin, title__contains="disabled").count() == 1


def test_a_burst_of_failures_is_not_a_long_run(tenant, monkeypatch):
    monkeypatch.setattr(webhooks, "DISABLE_AFTER_FAILURES", 2)
    endpoint, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/x", events=["order.created"])
    product = stocked_product(tenant)
    for _ in range(3):
        place_order(tenant, [(product, 1)])
    drain()
    sweep_webhooks()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 3 and endpoint.failing_since is not None


def test_send_again_repeats_the_same_body(tenant):
    with Receiver() as receiver:
        webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
        webhooks.send_again(delivery=WebhookDelivery.objects.get())
        sweep_webhooks()
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert WebhookDelivery.objects.get().attempts == 2


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http://127.0.0.1/x",
        "http://10.0.0.5/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://localhost/",
    ],
)
def test_private_and_odd_urls_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(webhooks.InvalidUrl):
        webhooks.check_url(url)


def test_body_leaves_out_internal_payload_keys(tenant):
    event = Event.objects.create(tenant=tenant, kind="order.created", payload={"order_id": 1, "_depth": 2})
    assert "_depth" not in json.loads(webhooks.message_body(event))["data"]


def test_a_receiver_that_redirects_gets_a_failed_attempt_and_nothing_follows_it(tenant):
    with Receiver(codes=(307,)) as receiver:
        endpoint, _ = webhooks.create_endpoint(tenant=tenant, url=receiver.url, events=["order.created"])
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
    assert len(receiver.requests) == 1  # the redirect's target was never asked
    attempt = WebhookAttempt.objects.get(delivery__endpoint=endpoint)
    assert attempt.status_code == 307 and "not followed" in attempt.error
    # retried later, as any non-2xx
    assert WebhookDelivery.objects.get(endpoint=endpoint).state == DeliveryState.PENDING


def test_an_endpoint_whose_name_now_points_to_loopback_gets_a_failed_attempt_and_no_request(
    tenant, settings, monkeypatch
):
    from oms import http

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    dns = {"hooks.example": ["93.184.216.34"]}
    monkeypatch.setattr(http, "resolve", lambda host, port: dns[host])
    with Receiver() as receiver:
        url = f"http://hooks.example:{receiver.server.server_address[1]}/hook"
        endpoint, _ = webhooks.create_endpoint(tenant=tenant, url=url, events=["order.created"])
        dns["hooks.example"] = ["127.0.0.1"]  # DNS rebinding: the saved name now answers with the receiver's address
        place_order(tenant, [(stocked_product(tenant), 1)])
        drain()
        sweep_webhooks()
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get(delivery__endpoint=endpoint)
    assert attempt.status_code is None and "internal address" in attempt.error


def test_endpoint_urls_are_looked_up_outside_any_transaction_of_the_service(tenant, settings, monkeypatch):
    from django.db import connection

    from oms import http

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    depth_at_lookup = []

    def resolve(host, port):
        depth_at_lookup.append(len(connection.atomic_blocks))
        return ["93.184.216.34"]

    monkeypatch.setattr(http, "resolve", resolve)
    depth_of_caller = len(connection.atomic_blocks)
    endpoint, _ = webhooks.create_endpoint(tenant=tenant, url="https://hooks.example/a", events=["order.created"])
    assert depth_at_lookup == [depth_of_caller]  # no transaction opened around the DNS lookup
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example/a"

"""A delivery task's batch (one endpoint's deliveries): claimed together in one statement and read in one, each
outcome recorded in one round trip of its own; never sent twice by two tasks holding the same ids; cut short when
a failure disables the endpoint."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.services import webhooks
from notifications.tasks import sweep_webhooks
from oms import events, rls
from oms.models import Event
from tests.concurrency import run_together
from tests.orders.test_intake_cost import app_statements

from .helpers import Receiver, place_order, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)
BATCH = 5


@pytest.fixture(autouse=True)
def private_urls(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    """Nothing is dispatched or sent after the commits here: each test runs the delivery tasks' work itself."""
    for module in (events, webhooks):
        monkeypatch.setattr(module, "send_task", lambda task, *args, **kwargs: True)


def deliveries_to(tenant, url: str, count: int = BATCH) -> list[int]:
    """`count` pending deliveries to one endpoint, none queued yet."""
    webhooks.create_endpoint(tenant=tenant, url=url, events=["order.created"])
    product = stocked_product(tenant)
    for _ in range(count):
        place_order(tenant, [(product, 1)])
    for event in Event.objects.filter(kind="order.created").order_by("pk"):
        webhooks.enqueue_for_subscribers(event)
    return sorted(WebhookDelivery.objects.values_list("pk", flat=True))


class SlowReceiver(Receiver):
    """Takes a while over each answer, so two tasks overlap."""

    def __init__(self, seconds: float):
        super().__init__()
        handler = self.server.RequestHandlerClass
        answer = handler.do_POST

        def slow(handler_self):
            time.sleep(seconds)
            answer(handler_self)

        handler.do_POST = slow


def test_a_batch_is_claimed_and_read_once_and_each_outcome_costs_one_round_trip(tenant):
    with Receiver() as receiver:
        ids = deliveries_to(tenant, receiver.url)
        with CaptureQueriesContext(connection) as captured:
            assert webhooks.deliver(ids) == BATCH
    # the claim, the read, then one statement per outcome: the attempt and the delivery's new state
    assert len(app_statements(captured.captured_queries)) == 2 + BATCH
    assert len(receiver.requests) == BATCH
    assert set(WebhookDelivery.objects.values_list("state", "attempts", "last_status_code")) == {
        (DeliveryState.SUCCEEDED, 1, 200)
    }
    assert WebhookAttempt.objects.filter(status_code=200, number=1).count() == BATCH


def test_two_tasks_with_the_same_batch_send_each_delivery_once(tenant):
    """A repeated message (or the sweep's task) holding the same ids while the first is still sending."""
    with SlowReceiver(0.1) as receiver:
        ids = deliveries_to(tenant, receiver.url)
        attempted = []
        run_together(lambda _: attempted.append(webhooks.deliver(ids)), [1, 2], tenant=tenant)
    assert sorted(attempted) == [0, BATCH]
    sent = [request["headers"]["webhook-id"] for request in receiver.requests]
    assert len(sent) == len(set(sent)) == BATCH
    assert WebhookAttempt.objects.count() == BATCH


def test_the_claim_lasts_until_the_last_of_the_batch_could_have_timed_out(tenant):
    """Each waits its turn behind the others, every one of which may take the whole time limit: the sweep must not
    queue one again meanwhile."""
    ids = deliveries_to(tenant, "http://127.0.0.1:9/closed")
    claimed_at = timezone.now()
    assert webhooks._claim(ids, claimed_at) == ids
    last_could_start = claimed_at + timedelta(seconds=webhooks.TIMEOUT_SECONDS * (BATCH - 1))
    with time_machine.travel(last_could_start + webhooks.CLAIM_LEASE - timedelta(seconds=1), tick=False):
        assert sweep_webhooks() == 0
        assert webhooks.deliver(ids) == 0
    with time_machine.travel(claimed_at + webhooks.CLAIM_LEASE + timedelta(seconds=webhooks.TIMEOUT_SECONDS * BATCH)):
        assert webhooks.deliver(ids) == BATCH  # a worker that died mid-batch: all due again


def test_a_failure_that_disables_the_endpoint_stops_the_batch(tenant, monkeypatch):
    monkeypatch.setattr(webhooks, "DISABLE_AFTER_FAILURES", 2)
    monkeypatch.setattr(webhooks, "DISABLE_AFTER_FAILING_FOR", timedelta(0))
    ids = deliveries_to(tenant, "http://127.0.0.1:9/closed")
    assert webhooks.deliver(ids) == 2
    assert list(WebhookDelivery.objects.order_by("pk").values_list("attempts", flat=True)) == [1, 1, 0, 0, 0]
    assert not WebhookDelivery.objects.get(pk=ids[0]).endpoint.is_active


def test_a_batch_keeps_going_past_failures_that_disable_nothing(tenant):
    """One receiver failing now and then: each outcome is recorded as it comes, the rest are still sent."""
    with Receiver(codes=[200, 500, 200, 503, 200]) as receiver:
        ids = deliveries_to(tenant, receiver.url)
        assert webhooks.deliver(ids) == BATCH
    states = list(WebhookDelivery.objects.order_by("pk").values_list("state", "last_status_code", "attempts"))
    assert states == [
        (DeliveryState.SUCCEEDED, 200, 1),
        (DeliveryState.PENDING, 500, 1),
        (DeliveryState.SUCCEEDED, 200, 1),
        (DeliveryState.PENDING, 503, 1),
        (DeliveryState.SUCCEEDED, 200, 1),
    ]
    retry = WebhookDelivery.objects.get(pk=ids[1])
    assert retry.next_attempt_at > timezone.now() and retry.enqueued_until is None
    endpoint = WebhookDelivery.objects.get(pk=ids[0]).endpoint
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None  # the last attempt succeeded


def test_deliveries_of_a_batch_that_threads_share_arrive_once(tenant):
    """Two tasks holding overlapping batches (the sweep's and a repeated message) never double-send."""
    with SlowReceiver(0.05) as receiver:
        ids = deliveries_to(tenant, receiver.url)
        run_together(webhooks.deliver, [ids[:3], ids[1:]], tenant=tenant)
    sent = [request["headers"]["webhook-id"] for request in receiver.requests]
    assert len(sent) == len(set(sent)) == BATCH


def test_a_batch_whose_lookups_are_slow_never_sends_one_that_another_task_took_over(tenant, monkeypatch):
    """The time limit of a request starts after its host is looked up, so a batch can outlast its claim (a slow
    resolver: 35 s a lookup here). The sweep then queues the rest again and another worker takes them: the first
    task must not send them too."""
    from oms import http

    with Receiver() as receiver, time_machine.travel(timezone.now(), tick=False) as traveller:
        ids = deliveries_to(tenant, receiver.url)
        leased_until = timezone.now() + webhooks.CLAIM_LEASE + timedelta(seconds=webhooks.TIMEOUT_SECONDS) * BATCH
        taken_over = []

        def slow_lookup(host, port):
            traveller.shift(35)
            if timezone.now() > leased_until and not taken_over:  # another worker runs the re-queued task now
                taken_over.append(True)
                webhooks.deliver(ids)
            return ["127.0.0.1"]

        monkeypatch.setattr(http, "resolve", slow_lookup)
        webhooks.deliver(ids)
        for _ in range(BATCH):  # what is left goes again once its claim has run out
            traveller.shift(webhooks.CLAIM_LEASE + timedelta(seconds=webhooks.TIMEOUT_SECONDS) * BATCH)
            webhooks.deliver(ids)
    sent = [request["headers"]["webhook-id"] for request in receiver.requests]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == BATCH
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {(DeliveryState.SUCCEEDED, 1)}


class ReceiverThatActs(Receiver):
    """Fails every attempt; on the first, `act()` runs (an admin changing the endpoint meanwhile)."""

    def __init__(self, act):
        super().__init__(codes=[500])
        handler = self.server.RequestHandlerClass
        answer, acted = handler.do_POST, []

        def acting(handler_self):
            if not acted:
                acted.append(True)
                act()
            answer(handler_self)

        handler.do_POST = acting


def admin_changes(tenant, **fields):
    """What an admin saves on the endpoint, from another connection (as the settings page does)."""

    def act():
        try:
            rls.bind(tenant.pk)
            WebhookEndpoint.objects.filter(tenant=tenant).update(**fields)
        finally:
            connections.close_all()

    return act


def test_an_endpoint_switched_off_during_a_failing_attempt_gets_no_more_of_the_batch(tenant):
    with ReceiverThatActs(admin_changes(tenant, is_active=False)) as receiver:
        ids = deliveries_to(tenant, receiver.url)
        assert webhooks.deliver(ids) == 1
    assert len(receiver.requests) == 1
    assert list(WebhookDelivery.objects.order_by("pk").values_list("attempts", flat=True)) == [1, 0, 0, 0, 0]


def test_a_url_corrected_during_a_failing_attempt_takes_the_rest_of_the_batch(tenant):
    with Receiver() as corrected, ReceiverThatActs(admin_changes(tenant, url=corrected.url)) as wrong:
        ids = deliveries_to(tenant, wrong.url)
        assert webhooks.deliver(ids) == BATCH
    assert len(wrong.requests) == 1 and len(corrected.requests) == BATCH - 1
    assert WebhookDelivery.objects.filter(state=DeliveryState.SUCCEEDED).count() == BATCH - 1

"""Background work never lost, repeated or starved: robust enqueue, back-off, failed events, webhook claims."""

import contextlib
import json
import threading
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import WebhookDelivery
from notifications.services import webhooks
from notifications.tasks import sweep_webhooks
from oms import events, rls
from oms.celery import app as celery_app
from oms.models import Event, Role
from oms.tasks import dispatch_event, sweep_outbox
from orders.models import Order
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db

handled: list[int] = []


def poison(event):
    raise RuntimeError("this subscriber always fails")


def healthy(event):
    handled.append(event.pk)


poisoned: list[int] = []


def poison_noted(event):
    poisoned.append(event.pk)
    raise RuntimeError("this subscriber always fails")


events.subscribe("test.poison", poison, name="tests.poison")
events.subscribe("test.healthy", healthy, name="tests.healthy")
events.subscribe("test.mixed", healthy, name="tests.mixed-healthy")
events.subscribe("test.mixed", poison_noted, name="tests.mixed-poison")


def old_events(tenant, kind, count, minutes=5):
    at = timezone.now() - timedelta(minutes=minutes)
    return Event.objects.bulk_create(
        [Event(tenant=tenant, kind=kind, payload={}, created_at=at, next_attempt_at=at) for _ in range(count)]
    )


def test_a_poison_event_never_delays_a_healthy_one(tenant, monkeypatch):
    import oms.tasks

    monkeypatch.setattr(oms.tasks, "SWEEP_BATCH", 20)
    old_events(tenant, "test.poison", 30, minutes=10)
    sweep_outbox()  # the oldest 20 fail and step back
    sweep_outbox()  # the other 10 fail and step back
    [fresh] = old_events(tenant, "test.healthy", 1, minutes=1)
    sweep_outbox()
    assert fresh.pk in handled
    failing = Event.objects.filter(kind="test.poison")
    assert all(e.attempts == 1 and e.next_attempt_at > timezone.now() for e in failing)


def test_an_event_that_keeps_failing_backs_off_then_waits_for_an_admin(tenant, client_for):
    [event] = old_events(tenant, "test.poison", 1)
    waits = []
    for _ in range(events.MAX_ATTEMPTS):
        Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        before = timezone.now()
        assert events.dispatch(event.pk) is False
        event.refresh_from_db()
        waits.append(event.next_attempt_at - before)
    assert waits[1] > waits[0] and event.failed_at is not None and event.attempts == events.MAX_ATTEMPTS
    assert "always fails" in event.last_error
    Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert events.dispatch(event.pk) is True and Event.objects.get(pk=event.pk).attempts == events.MAX_ATTEMPTS

    page = client_for(Role.ADMIN).get(reverse("oms:settings")).content.decode()
    assert "test.poison" in page and "always fails" in page
    assert client_for(Role.MANAGER).post(reverse("oms:events_retry"), {"event": event.pk}).status_code == 403
    client_for(Role.ADMIN).post(reverse("oms:events_retry"), {"event": event.pk})
    event.refresh_from_db()
    assert (event.failed_at, event.attempts) == (None, 0) and event.next_attempt_at <= timezone.now()


def test_an_admins_retry_runs_only_the_subscribers_that_had_not_run(tenant, client_for):
    """The healthy subscriber ran on the first attempt; after the failing one gave up and an admin retried the
    event, only the failing one runs again (the healthy one's work is not repeated, and its handled row does not
    break the dispatch, which would fail every other event of the batch with it)."""
    [mixed, other] = old_events(tenant, "test.mixed", 2)
    Event.objects.filter(pk=other.pk).update(kind="test.healthy")
    for _ in range(events.MAX_ATTEMPTS):
        Event.objects.filter(pk=mixed.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert events.dispatch(mixed.pk) is False
    assert handled.count(mixed.pk) == 1 and Event.objects.get(pk=mixed.pk).failed_at is not None
    poisoned.clear()
    assert client_for(Role.ADMIN).post(reverse("oms:events_retry"), {"event": mixed.pk}).status_code == 302
    assert events.dispatch_due(tenant.pk) == 2  # the retried event and the other one, in one batch
    assert handled.count(mixed.pk) == 1 and poisoned == [mixed.pk]
    assert other.pk in handled and Event.objects.get(pk=other.pk).dispatched_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_event_is_taken_by_one_dispatcher_at_a_time(tenant):
    """While one worker's dispatch holds the event (its transaction open), a second dispatch of it skips it; once
    the first ends without finishing (a dead worker: rolled back), the next dispatch takes it."""
    [event] = old_events(tenant, "test.healthy", 1)
    holding, release = threading.Event(), threading.Event()

    def first_worker():
        try:
            rls.bind(tenant.pk)
            with transaction.atomic():
                assert events._claim(pk=event.pk) != []
                holding.set()
                release.wait(timeout=30)
                transaction.set_rollback(True)  # it dies before finishing
        finally:
            connections.close_all()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert holding.wait(timeout=30)
    try:
        assert events.dispatch(event.pk) is True and event.pk not in handled  # taken: skipped, not waited for
    finally:
        release.set()
        worker.join(timeout=30)
    assert events.dispatch(event.pk) is True and event.pk in handled
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


@pytest.fixture
def broker_down():
    """The broker is unreachable (a closed port) and tasks really go to it, as in production."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    fresh_pools()
    conf.broker_url, conf.task_always_eager = "redis://127.0.0.1:9/0", False
    yield
    conf.broker_url, conf.task_always_eager = saved
    fresh_pools()


def fresh_pools():
    """Celery keeps its connection and producer pools for the broker it first met: start them anew."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_a_broker_outage_during_writes_loses_and_duplicates_nothing(
    tenant, api_client, broker_down, django_capture_on_commit_callbacks
):
    with pytest.raises(Exception):  # noqa: B017, PT011 - the premise: publishing really fails
        dispatch_event.apply_async(args=[0], retry=False)
    stocked_product(tenant, sku="MUG")
    body = {"customer": {"name": "Ann"}, "lines": [{"sku": "MUG", "quantity": 1}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/orders", data=body, content_type="application/json")
    assert response.status_code == 201, response.content  # the write stands; nothing to retry, nothing doubled
    assert Order.objects.count() == 1
    pending = Event.objects.filter(kind="order.created", dispatched_at__isnull=True)
    assert pending.count() == 1
    Event.objects.filter(pk=pending.get().pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    celery_app.conf.task_always_eager = True  # the broker is back
    sweep_outbox()
    assert Event.objects.get(kind="order.created").dispatched_at is not None


@pytest.fixture
def local_endpoints(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


def test_a_new_webhook_endpoint_gets_no_backlog(tenant, local_endpoints):
    place_order(tenant, [(stocked_product(tenant), 1)])  # an event from before the endpoint
    webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/closed", events=["order.created"])
    for event in Event.objects.filter(kind="order.created"):
        webhooks.enqueue_for_subscribers(event)
    assert not WebhookDelivery.objects.exists()
    place_order(tenant, [(stocked_product(tenant), 1)])
    newest = Event.objects.filter(kind="order.created").latest("pk")
    assert len(webhooks.enqueue_for_subscribers(newest)) == 1


def test_the_webhook_sweep_queues_each_due_attempt_once(tenant, local_endpoints, monkeypatch):
    webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/closed", events=["order.created"])
    place_order(tenant, [(stocked_product(tenant), 1)])
    event = Event.objects.get(kind="order.created")
    [delivery] = webhooks.enqueue(event=event, endpoints=webhooks.WebhookEndpoint.objects.all())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    queued = []  # what the sweeps put on the queue (no worker takes it here)
    monkeypatch.setattr(webhooks, "send_task", lambda task, *args: queued.append((task.name, *args)))
    assert (sweep_webhooks(), sweep_webhooks()) == (1, 0)
    assert queued == [("notifications.tasks.deliver_webhooks", [delivery.pk], tenant.pk)]


def test_a_dispatch_queues_the_deliveries_it_made_each_once_in_one_task_per_endpoint(
    tenant, local_endpoints, monkeypatch, django_capture_on_commit_callbacks
):
    """No task in between: the dispatch that made the deliveries claims them after its commit and queues each
    endpoint's together (DELIVERIES_PER_TASK at most), so a burst costs a few messages and a slow endpoint holds up
    only its own deliveries."""
    monkeypatch.setattr(webhooks, "DELIVERIES_PER_TASK", 2)
    first, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/one", events=["order.created"])
    second, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/two", events=["order.created"])
    for _ in range(3):
        place_order(tenant, [(stocked_product(tenant), 1)])  # not dispatched: the test transaction never commits
    queued = []
    monkeypatch.setattr(webhooks, "send_task", lambda task, *args: queued.append((task.name, *args)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.dispatch_due(tenant.pk)
    assert sum("_new_queue_batch" in callback.__qualname__ for callback in callbacks) == 1  # one for the batch
    ids = {
        endpoint: sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True))
        for endpoint in (first, second)
    }
    assert sorted(queued) == sorted(
        ("notifications.tasks.deliver_webhooks", chunk, tenant.pk)
        for endpoint_ids in ids.values()
        for chunk in (endpoint_ids[:2], endpoint_ids[2:])
    )
    assert webhooks.queue_made(tenant.pk, ids[first] + ids[second]) == 0  # claimed: never queued twice
    assert sweep_webhooks() == 0  # nor by the sweep while the queue lease lasts


def test_a_delivery_task_sends_only_its_own_shops_deliveries(tenant, other_tenant, local_endpoints):
    import notifications.tasks

    webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/closed", events=["order.created"])
    place_order(tenant, [(stocked_product(tenant), 1)])
    [delivery] = webhooks.enqueue_for_subscribers(Event.objects.get(kind="order.created"))
    assert notifications.tasks.deliver_webhooks([delivery.pk], other_tenant.pk) == 0
    assert notifications.tasks.deliver_webhooks([delivery.pk], tenant.pk) == 1  # attempted (the port is closed)
    assert notifications.tasks.deliver_webhooks([delivery.pk], tenant.pk) == 0  # not due again yet


@contextlib.contextmanager
def dispatch_queue(tenant):
    """The broker's list of `dispatch_tenant` messages, empty at the start and the end, with tasks really queued."""
    celery_app.conf.task_always_eager = False
    queue = celery_app.amqp.router.route({}, "oms.tasks.dispatch_tenant")["queue"].name
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
        try:
            yield conn.default_channel.client, queue
        finally:
            celery_app.conf.task_always_eager = True
            conn.default_channel.queue_purge(queue)
            cache.delete(events.kick_key(tenant.pk))


def test_a_burst_of_events_queues_one_dispatch_task(tenant, settings):
    """Intake's events each ask for a dispatch after commit; while one is queued and not yet started, the others
    ask for nothing, and the task, once it starts, lets the next event queue another."""
    with dispatch_queue(tenant) as (redis, queue):
        before = redis.llen(queue)
        for _ in range(5):
            events.kick(tenant.pk)
        assert redis.llen(queue) - before == 1
        cache.delete(events.kick_key(tenant.pk))  # what the task does as it starts
        events.kick(tenant.pk)
        assert redis.llen(queue) - before == 2


@pytest.mark.parametrize("window", [0.3, 0])
def test_the_dispatch_of_a_burst_waits_the_window_for_the_events_that_follow(tenant, settings, window):
    settings.EVENT_DISPATCH_WINDOW = window
    with dispatch_queue(tenant) as (redis, queue):
        asked = timezone.now()
        events.kick(tenant.pk)
        [message] = redis.lrange(queue, 0, -1)
        eta = json.loads(message)["headers"]["eta"]
        if window:
            starts = datetime.fromisoformat(eta) - asked
            assert timedelta(seconds=window) <= starts < timedelta(seconds=window + 1)
        else:
            assert eta is None


def test_a_batch_dispatches_every_due_event_once_and_keeps_a_failure_to_itself(tenant, monkeypatch):
    monkeypatch.setattr(events, "BATCH", 4)
    healthy_events = old_events(tenant, "test.healthy", 9)
    [poisoned] = old_events(tenant, "test.poison", 1)
    assert events.dispatch_due(tenant.pk) == 10
    assert events.dispatch_due(tenant.pk) == 0
    assert sorted(e.pk for e in healthy_events) == sorted(pk for pk in handled if pk in {e.pk for e in healthy_events})
    assert all(Event.objects.get(pk=e.pk).dispatched_at for e in healthy_events)
    poisoned.refresh_from_db()
    assert poisoned.dispatched_at is None and poisoned.attempts == 1 and "always fails" in poisoned.last_error


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("oms.tasks.dispatch_event", "events"),
        ("oms.tasks.dispatch_tenant", "events"),
        ("oms.tasks.sweep_outbox", "events"),
        ("notifications.tasks.sweep_time_limits", "events"),
        ("notifications.tasks.deliver_webhooks", "io"),
        ("shipments.tasks.poll_shipment", "io"),
        ("analytics.tasks.refresh_tenant_summaries", "reports"),
    ],
)
def test_work_goes_to_the_queue_of_its_kind(task, queue):
    """A report rebuild or a slow webhook never waits in front of event dispatch: each kind has its own queue."""
    assert celery_app.amqp.router.route({}, task)["queue"].name == queue


def test_a_failing_subscriber_does_not_keep_the_batch_s_webhooks_from_being_queued(
    tenant, local_endpoints, monkeypatch, django_capture_on_commit_callbacks
):
    """A trigger's webhook action starts the dispatch's list of deliveries to queue after commit; when a later
    trigger of the same event fails, its savepoint takes that after-commit hook with it: the deliveries the rest of
    the batch makes must still be queued at commit (not left for the sweep)."""
    from notifications.services import rules, triggers

    hooked, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/action", events=["stock.low"])
    subscribed, _ = webhooks.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/all", events=["order.created"])
    for name, conditions, actions in [
        ("call", [], [{"type": "webhook", "value": str(hooked.pk)}]),
        ("broken", [{"field": "channel", "op": "eq", "value": "boom"}], [{"type": "tag_order", "value": "x"}]),
    ]:
        triggers.save_trigger(
            tenant=tenant, name=name, event_kind="order.created", conditions=conditions, actions=actions, is_active=True
        )
    holds = rules.conditions_hold

    def breaks_on_boom(conditions, event, order):
        if any(condition.get("value") == "boom" for condition in conditions):
            raise RuntimeError("a trigger that breaks")
        return holds(conditions, event, order)

    monkeypatch.setattr(rules, "conditions_hold", breaks_on_boom)
    for _ in range(2):
        place_order(tenant, [(stocked_product(tenant), 1)])
    queued = []
    monkeypatch.setattr(webhooks, "send_task", lambda task, *args: queued.append((task.name, *args)))
    with django_capture_on_commit_callbacks(execute=True):
        events.dispatch_due(tenant.pk)
    made = sorted(WebhookDelivery.objects.filter(endpoint=subscribed).values_list("pk", flat=True))
    assert len(made) == 2 and not WebhookDelivery.objects.filter(endpoint=hooked).exists()  # undone with the trigger
    assert {(name, tenant_id) for name, _, tenant_id in queued} == {("notifications.tasks.deliver_webhooks", tenant.pk)}
    assert sorted(pk for _, ids, _ in queued for pk in ids) == made  # each queued once, at the commit


def test_a_sweep_runs_each_shop_bound_to_it_and_one_shops_failure_stops_no_other(tenant, other_tenant, caplog):
    seen = []

    def work(tenant_id):
        seen.append((tenant_id, rls.bound_tenant()))
        if tenant_id == tenant.pk:
            raise ValueError("bad data in this shop")
        return 2

    assert rls.each_tenant([tenant.pk, other_tenant.pk], work, what="A sweep") == 2
    assert seen == [(tenant.pk, tenant.pk), (other_tenant.pk, other_tenant.pk)]
    assert rls.bound_tenant() == tenant.pk  # the test's own binding is back
    assert f"A sweep failed for tenant {tenant.pk}" in caplog.text


def test_a_retry_naming_an_event_of_thousands_of_digits_retries_nothing(tenant, client_for):
    answer = client_for(Role.ADMIN).post(reverse("oms:events_retry"), {"event": "9" * 5000}, follow=True)
    assert answer.status_code == 200 and "Nothing to retry" in answer.content.decode()

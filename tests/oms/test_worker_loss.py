"""A worker killed with SIGKILL in the middle of dispatching loses nothing and repeats nothing."""

import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from oms.celery import app as celery_app
from oms.models import Event, EventHandled
from oms.tasks import dispatch_event, sweep_outbox
from tests.support.outbox_probe.models import ProbeDelivery

pytestmark = pytest.mark.django_db(transaction=True)
EVENTS = 40


def database_url_of_this_test() -> str:
    """The URL of the database this test runs in, for a worker in another process."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


def start_worker(queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_of_this_test(),
        "PROBE_DELAY": "0.15",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "oms",
        "worker",
        "-Q",
        queue,
        "--concurrency",
        "1",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "warning",
    ]
    return subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def broker_queue():
    queue = f"outbox-kill-test-{os.getpid()}"
    celery_app.conf.task_always_eager = False
    yield queue
    celery_app.conf.task_always_eager = True
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def test_events_survive_a_killed_worker_and_are_delivered_once(tenant, broker_queue):
    # Events written while no worker runs, each handed to the broker as after commit.
    events = [Event.objects.create(tenant=tenant, kind="probe.ping", payload={"n": n}) for n in range(EVENTS)]
    for event in events:
        dispatch_event.apply_async(args=[event.pk], queue=broker_queue)

    first = start_worker(broker_queue)
    try:
        assert wait_for(lambda: ProbeDelivery.objects.count() >= 5), "the first worker never started delivering"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # mid-dispatch: a subscriber is sleeping inside its transaction
        first.wait(timeout=10)
    delivered_before_kill = ProbeDelivery.objects.count()
    assert 0 < delivered_before_kill < EVENTS

    second = start_worker(broker_queue)
    try:
        wait_for(lambda: ProbeDelivery.objects.count() >= EVENTS - 2, timeout=90)
        # What the killed worker held unacknowledged is picked up by the outbox sweep (beat runs it every minute)
        # once the dead worker's claim has run out; here its lease is ended by hand instead of waiting 5 minutes.
        Event.objects.filter(dispatched_at__isnull=True).update(next_attempt_at=timezone.now())
        sweep_outbox.apply_async(kwargs={"older_than_seconds": 0}, queue=broker_queue)
        assert wait_for(lambda: not Event.objects.filter(dispatched_at__isnull=True).exists(), timeout=90)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=20)

    per_event = {}
    for delivery in ProbeDelivery.objects.all():
        per_event[delivery.event_id] = per_event.get(delivery.event_id, 0) + 1
    assert per_event == {event.pk: 1 for event in events}, "every event delivered exactly once"
    assert EventHandled.objects.filter(subscriber="probe.record_delivery").count() == EVENTS
    print(
        f"kill -9 test: {EVENTS} events, {delivered_before_kill} delivered before the kill, "
        f"{EVENTS - delivered_before_kill} after restart, 0 duplicates"
    )

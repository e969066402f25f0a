import pytest
from django.db import transaction
from django.utils import timezone

from oms import events
from oms.event_catalogue import DomainEvent
from oms.events import record_event, subscribe
from oms.models import Event, EventHandled
from oms.tasks import dispatch_event, sweep_outbox

pytestmark = pytest.mark.django_db(transaction=True)

received: list[int] = []


class Happened(DomainEvent):
    """An event kind of these tests only (not in the catalogue)."""

    kind = "test.happened"
    label = "Something happened"
    description = "For the outbox tests."

    n: int = 0


def remember(event):
    received.append(event.pk)


@pytest.fixture(autouse=True)
def subscriber():
    received.clear()
    subscribe(Happened, remember, name="tests.remember")
    yield
    events._subscribers["test.happened"].clear()


def test_event_of_a_rolled_back_transaction_is_never_dispatched(tenant):
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(tenant=tenant, event=Happened())
        raise RuntimeError("the change failed")
    sweep_outbox()
    assert Event.objects.count() == 0
    assert received == []


def test_committed_event_is_dispatched_exactly_once_even_when_dispatch_runs_twice(tenant):
    with transaction.atomic():
        record_event(tenant=tenant, event=Happened(n=1))
    event = Event.objects.get()
    # on_commit already dispatched it (tasks run inline in tests); run it twice more, as a retry would.
    dispatch_event(event.pk)
    events.dispatch(event.pk)
    assert received == [event.pk]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert EventHandled.objects.filter(event=event).count() == 1


def test_a_lost_dispatch_is_picked_up_by_the_sweep(tenant):
    event = Event.objects.create(tenant=tenant, kind="test.happened", payload={})  # as if the task was lost
    long_ago = event.created_at.replace(year=2020)
    Event.objects.filter(pk=event.pk).update(created_at=long_ago, next_attempt_at=long_ago)
    assert sweep_outbox() == 1
    assert received == [event.pk]
    assert sweep_outbox() == 0


def test_a_failing_subscriber_is_retried_without_repeating_the_others(tenant):
    calls = []

    def flaky(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise ValueError("downstream down")

    subscribe(Happened, flaky, name="tests.flaky")
    try:
        with transaction.atomic():
            record_event(tenant=tenant, event=Happened())
        event = Event.objects.get()
        assert event.dispatched_at is None and "downstream down" in event.last_error
        assert event.next_attempt_at > timezone.now()  # backs off before the next attempt
        Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())  # its time has come
        events.dispatch(event.pk)
        event.refresh_from_db()
        assert event.dispatched_at is not None
        assert received == [event.pk] and calls == [event.pk, event.pk]
    finally:
        subscribed = events._subscribers["test.happened"]
        subscribed[:] = [entry for entry in subscribed if entry[0] != "tests.flaky"]

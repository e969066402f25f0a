"""Writes nobody waits for (history rows, activity entries, outbox rows, an order's time of change) ride in front of
the transaction's next statement or its COMMIT (`oms.db.send_ahead`): no round trip of their own, and the same
outcome as sent alone: in order, under the tenant bound when they were asked for, undone with a savepoint they came
after, kept when it is released, and a failure fails the transaction."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from oms import events, rls
from oms.db import SENT_AHEAD, send_ahead
from oms.models import Event, EventHandled
from orders.models import Customer
from tests.factories import make_tenant

from .test_savepoints import round_trips

pytestmark = pytest.mark.django_db(transaction=True)

RENAME = "UPDATE orders_customer SET notes = %s WHERE id = %s"
BREAK = "UPDATE orders_customer SET name = NULL WHERE id = %s"  # NOT NULL: stands for a write that fails


def history(customer) -> list[str]:
    return list(customer.history.order_by("history_id").values_list("history_type", flat=True))


def notes(customer) -> str:
    return Customer.objects.get(pk=customer.pk).notes


def test_a_write_rides_with_the_next_statement_and_the_commit_takes_the_rest(shop):
    customer = Customer.objects.create(tenant=shop, name="Ann")
    send_ahead(RENAME, ["warm", customer.pk])  # outside a transaction: at once, and now parsed for the session

    def change():
        with transaction.atomic():
            assert notes(customer) == "warm"  # opens the transaction (a write before that would run at once)
            send_ahead(RENAME, ["first", customer.pk])
            assert notes(customer) == "first"  # the read's round trip carried the write ahead of it
            send_ahead(RENAME, ["second", customer.pk])

    trips = round_trips(change)
    assert len(trips) == 3, trips  # BEGIN and the read; the first write and the read; the second with the COMMIT
    assert any("first" in message for message in trips[1]) and any("orders_customer" in m for m in trips[1])
    assert any("second" in message for message in trips[2]) and trips[2][-1] == "Sync"
    assert any('"COMMIT"' in message for message in trips[2])
    assert notes(customer) == "second"


def test_the_query_log_shows_a_write_sent_ahead_where_it_was_asked_for(shop):
    customer = Customer.objects.create(tenant=shop, name="Ann")
    with transaction.atomic():
        notes(customer)
        with CaptureQueriesContext(connection) as captured:
            send_ahead(RENAME, ["logged", customer.pk])
            notes(customer)
    (write, read) = [q["sql"] for q in captured.captured_queries]
    assert write.startswith("UPDATE orders_customer") and write.endswith(SENT_AHEAD)
    assert read.startswith("SELECT") and not read.endswith(SENT_AHEAD)


def test_a_write_runs_under_the_tenant_bound_when_it_was_asked_for(shop):
    other = make_tenant("ahead-other")
    with transaction.atomic():
        mine = Customer.objects.create(tenant=shop, name="Mine")  # its history row waits, bound to this shop
        with rls.tenant_context(other.pk):
            theirs = Customer.objects.create(tenant=other, name="Theirs")  # carries the row ahead of it
            assert Customer.objects.filter(pk=mine.pk).count() == 0  # the other shop's binding holds here
        send_ahead(RENAME, ["back home", mine.pk])
    assert history(mine) == ["+"] and notes(mine) == "back home"
    with rls.tenant_context(other.pk):
        assert history(Customer.objects.get(pk=theirs.pk)) == ["+"]


def test_writes_under_a_savepoint_rolled_back_are_dropped_and_those_before_it_kept(shop):
    customer = Customer.objects.create(tenant=shop, name="Ann")
    with transaction.atomic():
        send_ahead(RENAME, ["kept", customer.pk])
        with pytest.raises(RuntimeError), transaction.atomic():  # its SAVEPOINT never sent: nothing ran under it
            send_ahead(RENAME, ["dropped", customer.pk])
            raise RuntimeError("roll back")
        assert notes(customer) == "kept"
        notes(customer)
        with pytest.raises(RuntimeError), transaction.atomic():
            assert notes(customer) == "kept"  # the SAVEPOINT went with this read
            send_ahead(RENAME, ["dropped too", customer.pk])
            raise RuntimeError("roll back")
        assert notes(customer) == "kept"
    assert notes(customer) == "kept"


def test_writes_under_a_savepoint_released_before_it_was_sent_belong_to_the_transaction(shop):
    customer = Customer.objects.create(tenant=shop, name="Ann")
    with transaction.atomic():
        with transaction.atomic():  # released with nothing sent: its writes stay queued, for the outer transaction
            send_ahead(RENAME, ["released", customer.pk])
        with pytest.raises(RuntimeError), transaction.atomic():
            raise RuntimeError("an empty savepoint undone")
    assert notes(customer) == "released"


def test_a_failing_write_fails_the_transaction_at_the_statement_it_rides_with(shop):
    customer = Customer.objects.create(tenant=shop, name="Ann")
    with pytest.raises(DatabaseError), transaction.atomic():
        send_ahead(RENAME, ["changed", customer.pk])
        send_ahead(BREAK, [customer.pk])
        notes(customer)
    assert notes(customer) == "" and Customer.objects.get(pk=customer.pk).name == "Ann"
    with pytest.raises(DatabaseError), transaction.atomic():
        send_ahead(BREAK, [customer.pk])  # fails at the COMMIT
    assert Customer.objects.get(pk=customer.pk).name == "Ann"
    with transaction.atomic():  # the session goes on
        send_ahead(RENAME, ["after the failures", customer.pk])
    assert notes(customer) == "after the failures"


def test_a_write_sent_ahead_works_without_prepared_statements_as_behind_a_pooler(shop, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    customer = Customer.objects.create(tenant=shop, name="Ann")
    with transaction.atomic():
        send_ahead(RENAME, ["unprepared", customer.pk])
    assert notes(customer) == "unprepared"
    assert history(customer) == ["+"]


def test_a_failing_write_of_an_inner_block_is_that_blocks_error_and_undone_with_it(shop):
    """Its writes go with the block's RELEASE, so the block that queued them raises, is rolled back to its savepoint,
    and the transaction around it goes on, as when each write was sent alone."""
    customer = Customer.objects.create(tenant=shop, name="Ann")
    with transaction.atomic():
        send_ahead(RENAME, ["outer", customer.pk])
        with pytest.raises(IntegrityError), transaction.atomic():
            send_ahead(RENAME, ["inner", customer.pk])
            send_ahead(BREAK, [customer.pk])
        Customer.objects.create(tenant=shop, name="Bob")
    assert notes(customer) == "outer" and Customer.objects.filter(name="Bob").exists()


def test_a_failing_write_of_the_enclosing_block_is_not_taken_for_an_inner_blocks_error(shop):
    """A write the outer block queued goes before an inner block opens; if it fails, the inner block never starts and
    what leaves it is no error the caller could take for its own statement's: the transaction rolls back, loudly."""
    customer = Customer.objects.create(tenant=shop, name="Ann")
    handled = []
    with pytest.raises(TransactionManagementError) as failed, transaction.atomic():
        notes(customer)
        send_ahead(RENAME, ["undone", customer.pk])
        send_ahead(BREAK, [customer.pk])
        try:
            with transaction.atomic():
                Customer.objects.create(tenant=shop, name="Bob")
        except IntegrityError as exc:  # e.g. a duplicate this caller knows how to answer
            handled.append(exc)
    assert handled == [] and isinstance(failed.value.__cause__, IntegrityError)
    assert notes(customer) == "" and not Customer.objects.filter(name="Bob").exists()


KIND = "tests.sent_ahead"


@pytest.fixture
def subscribers():
    saved = events._subscribers.pop(KIND, None)
    yield lambda name, handler: events.subscribe(KIND, handler, name=name)
    events._subscribers.pop(KIND, None)
    if saved is not None:
        events._subscribers[KIND] = saved


def test_a_subscriber_whose_write_fails_is_the_one_recorded_failing_and_the_next_runs(shop, subscribers):
    """Each subscriber runs in a savepoint, so that a failing one is undone and recorded alone: a write it queued
    fails at its own block's end, not in the next subscriber's."""
    customer = Customer.objects.create(tenant=shop, name="Ann")

    def first(event):
        Customer.objects.get(pk=customer.pk)
        send_ahead(BREAK, [customer.pk])

    def second(event):
        send_ahead(RENAME, ["second ran", customer.pk])

    subscribers("tests.first", first)
    subscribers("tests.second", second)
    event = Event.objects.create(tenant=shop, kind=KIND, payload={})
    assert events.dispatch(event.pk, shop.pk) is False  # not fully dispatched: one subscriber failed
    event.refresh_from_db()
    assert event.last_error.startswith("tests.first:") and event.attempts == 1
    assert list(EventHandled.objects.filter(event=event).values_list("subscriber", flat=True)) == ["tests.second"]
    assert notes(customer) == "second ran"

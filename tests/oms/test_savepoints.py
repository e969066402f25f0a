"""Savepoints ride in front of the next statement instead of costing round trips (oms/dbbackend/base.py), and
behave exactly as before: what ran under a rolled-back savepoint is undone, what ran before it stays."""

import tempfile

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.models import Warehouse
from oms.db import SENT_AHEAD
from orders.models import Customer


def names(tenant) -> list[str]:
    return sorted(Customer.objects.filter(tenant=tenant).values_list("name", flat=True))


def test_savepoints_around_no_statement_cost_no_round_trip(shop):
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="first")
        with CaptureQueriesContext(connection) as captured:
            for _ in range(3):
                with transaction.atomic():  # e.g. a subscriber that had nothing to do
                    pass
            try:
                with transaction.atomic():
                    raise ValueError("undone before any statement")
            except ValueError:
                pass
        assert captured.captured_queries == []
        Customer.objects.create(tenant=shop, name="second")  # nothing stale is sent with it
    assert names(shop) == ["first", "second"]


def test_a_savepoint_travels_with_the_statement_under_it_and_a_release_with_the_next(shop):
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="outer")
        assert names(shop) == ["outer"]  # its history row goes ahead of this read
        with CaptureQueriesContext(connection) as captured:
            with transaction.atomic():
                sid = connection.savepoint_ids[-1]
                Customer.objects.create(tenant=shop, name="inner")
            Customer.objects.create(tenant=shop, name="after")
        sent = [q["sql"] for q in captured.captured_queries]
    # Each customer INSERT is followed by its history row's, sent ahead of the next statement; no statement of their
    # own for SAVEPOINT or RELEASE (the RELEASE is pipelined with the history row: tests/oms/test_sent_ahead.py).
    assert [(statement.split(" INTO ")[0], statement.endswith(SENT_AHEAD)) for statement in sent] == [
        (f'SAVEPOINT "{sid}"; INSERT', False),
        ("INSERT", True),
        ("INSERT", False),
        ("INSERT", True),
    ]
    assert names(shop) == ["after", "inner", "outer"]


def test_what_ran_under_a_rolled_back_savepoint_is_undone_and_nothing_before_it(shop):
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="kept")
        try:
            with transaction.atomic():
                Customer.objects.create(tenant=shop, name="undone")
                with transaction.atomic():  # released, then undone with its parent
                    Customer.objects.create(tenant=shop, name="undone too")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        Customer.objects.create(tenant=shop, name="later")
    assert names(shop) == ["kept", "later"]


def test_a_failing_statement_in_a_savepoint_leaves_the_transaction_usable(shop):
    Warehouse.objects.create(tenant=shop, code="W1", name="One")
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="kept")
        with pytest.raises(IntegrityError), transaction.atomic():
            # The savepoint went out in the failing statement's own message, so there is one to roll back to.
            Warehouse.objects.create(tenant=shop, code="W1", name="Again")
        Customer.objects.create(tenant=shop, name="after the error")
    assert names(shop) == ["after the error", "kept"]


def test_a_savepoint_queued_before_the_transactions_first_statement(shop):
    with transaction.atomic():
        with transaction.atomic():  # BEGIN, the binding and this SAVEPOINT all go with the INSERT
            Customer.objects.create(tenant=shop, name="nested first")
        with pytest.raises(RuntimeError), transaction.atomic():
            with transaction.atomic():
                Customer.objects.create(tenant=shop, name="undone")
            raise RuntimeError("roll back")
    assert names(shop) == ["nested first"]


def test_savepoints_before_a_prepared_statement_are_sent_first(shop):
    from oms.db import fetch_prepared

    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            assert fetch_prepared("SELECT count(*) FROM orders_customer", []) == [(1,)]
            Customer.objects.create(tenant=shop, name="undone")
            raise RuntimeError("roll back")
    assert names(shop) == ["kept"]


def test_refused_statements_in_a_row_roll_back_to_their_savepoints(shop):
    """After a rollback to a savepoint the binding is sent again with the next statement; when that statement fails,
    the transaction accepts only the ROLLBACK TO, which therefore goes bare."""
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="kept")
        for _ in range(3):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET ROLE postgres")  # the application role may not
        Customer.objects.create(tenant=shop, name="after")
    assert names(shop) == ["after", "kept"]


def round_trips(run) -> list[list[str]]:
    """The front end's messages `run` sends, cut at each point where it waits for the server (a Query or a Sync)."""
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile(mode="w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
        trace.seek(0)
        trips, current = [], []
        for line in trace:
            if not line.startswith("F"):
                continue
            fields = line.rstrip("\n").split("\t", 3)
            kind, text = fields[2], fields[3].strip() if len(fields) > 3 else ""
            current.append(f"{kind} {text}".strip())
            if kind in ("Query", "Sync"):
                trips.append(current)
                current = []
        return trips


def test_a_transaction_opens_in_the_message_of_its_first_statement(shop):
    def create(name):
        with transaction.atomic():
            Customer.objects.create(tenant=shop, name=name)

    create("first")  # the history row's prepared statement is parsed on its first use in the session
    trips = round_trips(lambda: create("one trip"))
    assert len(trips) == 2, trips  # the customer with BEGIN in front; its history row sent ahead of the COMMIT
    assert trips[0][0].startswith(f"Query \"BEGIN; SELECT set_config('app.tenant_id', '{shop.pk}', true); INSERT")
    history, commit = trips[-1][0], trips[-1][-5:]
    assert history.startswith("Bind") and '"history_type": "+"' in history
    assert commit == ['Parse "" "COMMIT" 0', 'Bind "" "" 0 0 1 0', 'Describe P ""', 'Execute "" 0', "Sync"]
    assert names(shop) == ["first", "one trip"]


def test_a_first_statement_that_fails_leaves_nothing_open_and_the_next_transaction_works(shop):
    Warehouse.objects.create(tenant=shop, code="MAIN", name="Main")
    with pytest.raises(IntegrityError), transaction.atomic():
        Warehouse.objects.create(tenant=shop, code="MAIN", name="Twice")
    assert not connection.in_atomic_block
    assert connection.connection.pgconn.transaction_status == pq_idle()
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="after the failure")
    assert names(shop) == ["after the failure"]


def pq_idle():
    from psycopg import pq

    return pq.TransactionStatus.IDLE


def test_a_prepared_statement_opening_a_transaction_takes_its_begin_and_binding_in_its_round_trip(shop):
    from oms.db import fetch_prepared

    Customer.objects.create(tenant=shop, name="seen")
    counted = []

    def read_twice():
        with transaction.atomic():
            counted.append(fetch_prepared("SELECT count(*) FROM orders_customer WHERE name = %s", ["seen"]))
            counted.append(fetch_prepared("SELECT count(*) FROM orders_customer WHERE name = %s", ["seen"]))

    trips = round_trips(read_twice)
    assert counted == [[(1,)], [(1,)]]  # the binding held: the application role sees the shop's row
    assert len(trips) == 3, trips  # BEGIN, binding and the first statement; the second; COMMIT
    first = " ".join(trips[0])
    assert '"BEGIN"' in first and f"set_config('app.tenant_id', '{shop.pk}', true)" in first
    assert "orders_customer" in first


def test_a_prepared_statement_in_autocommit_binds_for_itself_alone_in_one_round_trip(shop):
    from oms.db import fetch_prepared

    Customer.objects.create(tenant=shop, name="seen")
    counted = []
    trips = round_trips(
        lambda: counted.append(fetch_prepared("SELECT count(*) FROM orders_customer WHERE name = %s", ["seen"]))
    )
    assert counted == [[(1,)]]
    assert len(trips) == 1, trips
    assert connection.connection.pgconn.transaction_status == pq_idle()  # nothing left open
    from psycopg import ClientCursor

    with ClientCursor(connection.connection) as bare:  # psycopg's own cursor: no binding of its own in front
        bare.execute("SELECT current_setting('app.tenant_id', true)")
        assert bare.fetchone()[0] in ("", None)  # the binding ended with its statement


def test_a_failing_prepared_statement_opening_a_transaction_rolls_back_cleanly(shop):
    from oms.db import fetch_prepared

    with pytest.raises(DatabaseError), transaction.atomic():
        fetch_prepared("SELECT 1 / (count(*) - count(*)) FROM orders_customer WHERE name = %s", ["none"])
    assert connection.connection.pgconn.transaction_status == pq_idle()
    with pytest.raises(DatabaseError):
        fetch_prepared("SELECT 1 / (count(*) - count(*)) FROM orders_customer WHERE name = %s", ["none"])
    assert connection.connection.pgconn.transaction_status == pq_idle()
    with transaction.atomic():
        Customer.objects.create(tenant=shop, name="after the failures")
    assert names(shop) == ["after the failures"]

"""Reads none of which needs another's answer go to the server together (`oms.db.read_together`): one round trip for
all of them, behind what must come first (the BEGIN, the binding, queued writes), with the same answers as one by
one: under the bound shop, in order, and a failure raised as Django's error."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from oms import rls
from oms.db import SENT_AHEAD, HotQuery, read_together, send_ahead
from orders.models import Customer
from tests.factories import make_tenant

from .test_savepoints import round_trips

pytestmark = pytest.mark.django_db(transaction=True)

_by_name = HotQuery(
    lambda tenant_id, name: Customer.objects.filter(tenant_id=tenant_id, name=name),
    prepared=True,
    tenant_id=-1,
    name="x",
)
_named_from = HotQuery(  # not prepared: planned for its values on every run
    lambda name: Customer.objects.filter(name__gte=name).order_by("name"), name="sample"
)


def test_reads_go_in_one_round_trip_and_answer_each_in_order(shop):
    ann, bob = (Customer.objects.create(tenant=shop, name=name) for name in ("Ann", "Bob"))

    def read():
        return read_together(
            _by_name.with_values(tenant_id=shop.pk, name="Bob"),
            _named_from.with_values(name=""),
            _by_name.with_values(tenant_id=shop.pk, name="Nobody"),
        )

    answers = []
    trips = round_trips(lambda: answers.append(read()))
    assert len(trips) == 1, trips  # the binding and the three reads, one sync
    assert [[c.pk for c in found] for found in answers[0]] == [[bob.pk], [ann.pk, bob.pk], []]
    with transaction.atomic():
        trips = round_trips(lambda: answers.append(read()))
        assert len(trips) == 1, trips  # the BEGIN rides in front too
    assert [[c.name for c in found] for found in answers[1]] == [["Bob"], ["Ann", "Bob"], []]


def test_a_write_waiting_ahead_goes_first_and_the_reads_see_it(shop):
    ann = Customer.objects.create(tenant=shop, name="Ann")
    with transaction.atomic():
        assert _by_name(tenant_id=shop.pk, name="Ann")  # opens the transaction
        send_ahead("UPDATE orders_customer SET name = %s WHERE id = %s", ["Anna", ann.pk])
        answers = []
        trips = round_trips(
            lambda: answers.append(
                read_together(
                    _by_name.with_values(tenant_id=shop.pk, name="Ann"),
                    _by_name.with_values(tenant_id=shop.pk, name="Anna"),
                )
            )
        )
    assert len(trips) == 1 and answers == [[[], [ann]]]


def test_reads_see_only_the_bound_shop(shop):
    other = make_tenant("together-other")
    with rls.tenant_context(other.pk):
        Customer.objects.create(tenant=other, name="Theirs")
    Customer.objects.create(tenant=shop, name="Mine")
    (found,) = read_together(_named_from.with_values(name=""))
    assert [c.name for c in found] == ["Mine"]
    with rls.tenant_context(other.pk):
        (found,) = read_together(_named_from.with_values(name=""))
    assert [c.name for c in found] == ["Theirs"]


def test_the_query_log_shows_each_read_all_but_the_last_sent_ahead(shop):
    with CaptureQueriesContext(connection) as captured:
        read_together(_by_name.with_values(tenant_id=shop.pk, name="A"), _named_from.with_values(name="B"))
    first, last = (q["sql"] for q in captured.captured_queries)
    assert "orders_customer" in first and first.endswith(SENT_AHEAD)
    assert '"orders_customer"."name" >=' in last and not last.endswith(SENT_AHEAD)


def test_a_failing_read_raises_djangos_error_and_the_transaction_can_only_roll_back(shop):
    failing = HotQuery(lambda name: Customer.objects.filter(name=name).extra(where=["1 / 0 = 1"]), name="x")
    Customer.objects.create(tenant=shop, name="Kept")
    with pytest.raises(DatabaseError, match="division by zero"), transaction.atomic():
        read_together(failing.with_values(name="Kept"), _named_from.with_values(name=""))
    assert [c.name for c in _named_from(name="")] == ["Kept"]  # the connection goes on after the rollback


def test_instrumentation_that_wraps_each_statement_sees_each_prepared_or_read_together(shop):
    Customer.objects.create(tenant=shop, name="Seen")
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        alone = _by_name(tenant_id=shop.pk, name="Seen")  # prepared, and through the wrappers all the same
        together = read_together(_by_name.with_values(tenant_id=shop.pk, name="Seen"), _named_from.with_values(name=""))
    assert [c.name for c in alone] == ["Seen"] and [[c.name for c in found] for found in together] == [["Seen"]] * 2
    assert len(seen) == 3 and all("orders_customer" in sql for sql in seen)

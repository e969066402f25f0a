"""oms.db.fetch_prepared: hot statements planned once per session; errors and query counts as with Django's."""

import pytest
from django.db import IntegrityError, connection

from oms.db import fetch_prepared

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_once_and_reused():
    assert [fetch_prepared("SELECT %s::bigint + 1", [n]) for n in range(3)] == [[(1,)], [(2,)], [(3,)]]
    assert sum("$1::bigint + 1" in statement for statement in prepared_statements()) == 1


def test_prepared_statements_can_be_switched_off(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    assert fetch_prepared("SELECT %s::bigint + 2", [40]) == [(42,)]
    assert not any("$1::bigint + 2" in statement for statement in prepared_statements())


def test_errors_are_djangos_and_queries_are_counted(django_assert_num_queries):
    with django_assert_num_queries(1), pytest.raises(IntegrityError):
        fetch_prepared("INSERT INTO oms_tenant (id) VALUES (NULL) RETURNING id", [])


@pytest.mark.django_db(transaction=True)
def test_a_new_session_gets_a_cursor_of_its_own():
    assert fetch_prepared("SELECT %s::int * 2", [21]) == [(42,)]
    connection.close()  # as Django does at the end of a request past CONN_MAX_AGE
    assert fetch_prepared("SELECT %s::int * 2", [4]) == [(8,)]


def test_errors_are_djangos_when_queries_are_not_logged_too():
    assert not connection.queries_logged
    with pytest.raises(IntegrityError):
        fetch_prepared("INSERT INTO oms_tenant (id) VALUES (NULL) RETURNING id", [])


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_outlive_a_rolled_back_transaction_and_savepoint():
    """psycopg forgets (and deallocates) every prepared statement at any rollback; a refused request would cost each
    hot statement its parse and its plans again in that session."""
    from django.db import transaction

    def prepared_at():
        with connection.cursor() as cursor:
            cursor.execute("SELECT prepare_time FROM pg_prepared_statements WHERE statement LIKE '%%$1::bigint + 3'")
            return cursor.fetchall()

    assert fetch_prepared("SELECT %s::bigint + 3", [1]) == [(4,)]
    (first,) = prepared_at()
    with pytest.raises(IntegrityError), transaction.atomic():
        fetch_prepared("INSERT INTO oms_tenant (id) VALUES (NULL) RETURNING id", [])
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic():
            fetch_prepared("SELECT %s::bigint + 3", [2])
            fetch_prepared("INSERT INTO oms_tenant (id) VALUES (NULL) RETURNING id", [])
        assert fetch_prepared("SELECT %s::bigint + 3", [3]) == [(6,)]
    assert fetch_prepared("SELECT %s::bigint + 3", [4]) == [(7,)]
    assert prepared_at() == [first]  # the same statement, never prepared again


@pytest.mark.django_db(transaction=True)
def test_a_schema_change_still_drops_the_prepared_statements():
    """What psycopg's forgetting is for: a statement prepared before an ALTER could no longer describe its rows."""
    from django.db import transaction

    assert fetch_prepared("SELECT %s::bigint + 5", [1]) == [(6,)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE prepared_probe (id int)")
        cursor.execute("ALTER TABLE prepared_probe ADD COLUMN note text")
    assert not any("$1::bigint + 5" in statement for statement in prepared_statements())
    assert fetch_prepared("SELECT %s::bigint + 5", [2]) == [(7,)]

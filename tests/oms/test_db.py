"""oms.db.prepared_cursor: hot statements planned once per session, errors and query counts as with Django's."""

import pytest
from django.db import IntegrityError, connection

from oms.db import prepared_cursor

pytestmark = pytest.mark.django_db

STATEMENT = "SELECT %s::bigint + 1"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_once_and_reused():
    for n in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(STATEMENT, [n])
            assert cursor.fetchone() == (n + 1,)
    assert sum("$1::bigint + 1" in statement for statement in prepared_statements()) == 1


def test_prepared_statements_can_be_switched_off(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::bigint + 2", [40])
        assert cursor.fetchone() == (42,)
    assert not any("$1::bigint + 2" in statement for statement in prepared_statements())


def test_errors_are_djangos_and_queries_are_counted(django_assert_num_queries):
    with django_assert_num_queries(1), pytest.raises(IntegrityError), prepared_cursor() as cursor:
        cursor.execute("INSERT INTO oms_tenant (id) VALUES (NULL)")

"""Django's per-request health check of a kept connection (CONN_HEALTH_CHECKS) asks the server only when the socket
says something happened (oms/dbbackend/base.py `is_usable`)."""

import os
import resource
import select
import time

import psycopg
import pytest
from django.db import DataError, connection, transaction

from oms.dbbackend.base import QUIET_SOCKET_TRUSTED
from oms.models import Role
from tests.conftest import OWNER_LOGIN

from .test_savepoints import round_trips

pytestmark = pytest.mark.django_db(transaction=True)


def owner_session() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=OWNER_LOGIN["USER"],
        password=OWNER_LOGIN["PASSWORD"] or None,
        autocommit=True,
    )


def terminate_this_session() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with owner_session() as owner:
        owner.execute("SELECT pg_terminate_backend(%s)", [pid])
    socket_has_word()  # the server's last word reaches the socket


def socket_has_word() -> None:
    socket = connection.connection.pgconn.socket
    deadline = time.monotonic() + 5
    while not select.select([socket], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "nothing reached the session's socket"


def test_a_healthy_idle_connection_is_usable_without_asking_the_server():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    checked = []
    assert round_trips(lambda: checked.append(connection.is_usable())) == []
    assert checked == [True]


def test_a_connection_unused_for_a_while_is_asked_about_whatever_its_socket_says():
    """A peer that vanished without a word (a crashed host, a moved address) leaves the socket quiet: only asking
    finds it, and the quiet is trusted only just after a use."""
    checked = []

    def check_after_a_pause():
        connection.oms_used_at -= QUIET_SOCKET_TRUSTED + 0.1  # as if last used over a second ago
        checked.append(connection.is_usable())

    (trip,) = round_trips(check_after_a_pause)
    assert trip[-1].endswith('SELECT 1"')
    assert checked == [True]


def test_a_socket_numbered_past_1023_is_checked_too():
    """`select()` refuses such a descriptor; a busy process (many clients, many files) has them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
    connection.close()
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.connection.pgconn.socket > 1023
        checked = []
        assert round_trips(lambda: checked.append(connection.is_usable())) == []
        assert checked == [True]
    finally:
        connection.close()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_connection_the_server_ended_is_found_and_the_next_request_gets_a_new_one(client_for):
    client = client_for(Role.MANAGER)
    assert client.get("/orders/").status_code == 200
    old_pid = connection.connection.info.backend_pid
    terminate_this_session()
    assert connection.is_usable() is False
    # A kept connection is checked at the start of the next request, as between two requests of a web process.
    connection.health_check_done = False
    assert client.get("/orders/").status_code == 200
    assert connection.connection.info.backend_pid != old_pid


def test_something_unexpected_to_read_is_settled_by_asking_the_server():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN oms_test")  # the application listens to nothing; a test can
    with owner_session() as owner:
        owner.execute("SELECT pg_notify('oms_test', 'hello')")
    socket_has_word()
    checked = []
    (trip,) = round_trips(lambda: checked.append(connection.is_usable()))
    assert trip[-1].endswith('SELECT 1"')
    assert checked == [True]
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")


def test_a_failed_transaction_is_unusable_as_django_expects():
    """Django asks it of a transaction a statement failed in (a test's teardown, a request's end after an error)."""
    with transaction.atomic():
        with pytest.raises(DataError), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
        assert connection.is_usable() is False
        transaction.set_rollback(True)
    assert connection.is_usable() is True

"""Database helpers shared by every app."""

import functools
import logging
import random
import time
import weakref

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction

from oms.dbbackend.base import ServerBindingCursor

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def broken_constraint(exc: BaseException) -> str:
    """The name of the constraint an IntegrityError broke, '' when PostgreSQL named none (e.g. NOT NULL).

    Services map an IntegrityError to a domain error only by this name, so a different violation is never
    reported as, say, a duplicate; anything they do not expect propagates as the bug it is.
    """
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""


class NetworkCallInTransaction(RuntimeError):
    """A call to another system (HTTP, SMTP) was about to run inside a database transaction."""


def in_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True inside a transaction the code opened (the wrapping transaction of a test case does not count)."""
    return any(not block._from_testcase for block in connections[using].atomic_blocks)


def ensure_no_transaction(what: str) -> None:
    """Refuse a network call inside a transaction: it would hold row locks for the remote side's time and could
    not be taken back if the transaction rolled back. Work after commit goes through the outbox or a task."""
    if in_transaction():
        raise NetworkCallInTransaction(f"{what} inside a database transaction; do it after commit.")


def joins_transaction(func):
    """`transaction.atomic` for a service that callers also run inside a transaction of their own (an API write
    with its Idempotency-Key row, a batch): there it joins that transaction instead of opening a savepoint, two
    statements fewer on every call, and a failure rolls the caller's whole transaction back, as a failure of the
    caller's own would. Alone (or in a test's wrapping transaction) it is an ordinary atomic block. A caller that
    means to go on after the service failed opens a savepoint of its own around the call."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with transaction.atomic(savepoint=not in_transaction()):
            return func(*args, **kwargs)

    return wrapper


def retry_on_conflict(attempts: int = 5):
    """Run a transactional function again when PostgreSQL aborts it for a serialization failure or deadlock.

    Only safe around a function that opens its own outermost transaction.
    """

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except OperationalError as exc:
                    if _sqlstate(exc) not in RETRYABLE_SQLSTATES or attempt == attempts or connection.in_atomic_block:
                        raise
                    logger.warning("Retrying %s after %s (attempt %s)", func.__name__, _sqlstate(exc), attempt)
                    time.sleep(random.uniform(0.005, 0.03) * attempt)  # noqa: S311 - jitter, not security
            raise AssertionError("unreachable")

        return wrapper

    return decorator


class _PreparingCursor(ServerBindingCursor):
    """Server-side binding, and each statement prepared once per connection (psycopg keeps the names)."""

    prepare = True

    def execute(self, query, params=None, **kwargs):
        return super().execute(query, params, prepare=self.prepare, **kwargs)


# One such cursor per database session, made once: making a cursor costs about as much as the statement's own
# client-side work. Django's sessions belong to one thread each, and fetch_prepared never leaves it mid-result.
_session_cursors: "weakref.WeakKeyDictionary[psycopg.Connection, _PreparingCursor]" = weakref.WeakKeyDictionary()


def fetch_prepared(sql: str, params) -> list[tuple]:
    """Run a hot statement whose planning costs more than its run, parsed and planned once per session; its rows.

    Django turns prepared statements off for every query (they break behind transaction-pooling proxies); this
    opts in for the few statements that ask for it, with `DATABASE_PREPARED_STATEMENTS = False` to opt out.
    Errors surface as Django's, and query logging and test query counts work as usual.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs a lookup per attribute
    db.ensure_connection()
    session, prepare = db.connection, settings.DATABASE_PREPARED_STATEMENTS
    raw = _session_cursors.get(session)
    if raw is None or raw.closed:
        if session.prepare_threshold is None:
            # Django's "no prepared statements" is threshold None, which refuses even an explicit prepare=True;
            # a threshold never reached keeps psycopg from preparing on its own and lets this cursor ask.
            session.prepare_threshold = 2**31 - 1
        raw = _session_cursors[session] = _PreparingCursor(session)
    raw.prepare = prepare
    if db.queries_logged:  # DEBUG, or a test counting queries: Django's wrapper records the statement
        cursor = db.make_debug_cursor(raw)
        cursor.execute(sql, params)
        logged = db.queries_log[-1] if db.queries_log else None
        if logged is not None and logged["sql"] is None:  # Django reads no text back from a prepared statement
            logged["sql"] = f"{sql} /* params: {[str(p) if p is not None else None for p in params]} */"
        return cursor.fetchall()
    # What Django's wrapper does, without its layers of calls (they are a fifth of this path's client time).
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        raw.execute(sql, params)
        return raw.fetchall()

"""Reads that may be a moment old (reports, the owner's export) go to a streaming replica when one is configured.

`DATABASE_REPLICA_URL` adds the `replica` database. Code opts in with `replica_reads()`: inside it the router
sends ORM reads to the replica and `reading_connection()` is the one for raw SQL; writes, and every read outside
it, stay on the primary, so a page that reads what it has just written never reads it from a replica. A replica
that cannot be reached is left alone for a while and the primary answers instead. Row-level security binds the
replica's transactions as the primary's (the policies are part of what replicates).
"""

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
RETRY_AFTER_SECONDS = 30
_reading_from: ContextVar[str] = ContextVar("reading_from", default=DEFAULT_DB_ALIAS)
_unreachable_until = 0.0


def configured() -> bool:
    return REPLICA in connections.settings


def _reachable() -> bool:
    global _unreachable_until
    if time.monotonic() < _unreachable_until:
        return False
    try:
        connections[REPLICA].ensure_connection()
    except OperationalError:
        logger.warning("The read replica cannot be reached; reading from the primary for %s s", RETRY_AFTER_SECONDS)
        _unreachable_until = time.monotonic() + RETRY_AFTER_SECONDS
        return False
    return True


@contextmanager
def replica_reads():
    """Reads inside go to the replica when there is a reachable one; yields the alias they use."""
    alias = REPLICA if configured() and _reachable() else DEFAULT_DB_ALIAS
    token = _reading_from.set(alias)
    try:
        yield alias
    finally:
        _reading_from.reset(token)


def read_alias() -> str:
    return _reading_from.get()


def reading_connection():
    return connections[read_alias()]


def freshness(alias: str) -> dict | None:
    """How far the figures read from `alias` trail the primary: None for the primary itself, else
    `{"behind_seconds": float | None}` where None means the replica has replayed everything it received."""
    if alias == DEFAULT_DB_ALIAS:
        return None
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN NULL"
            " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
        )
        behind = cursor.fetchone()[0]
    return {"behind_seconds": None if behind is None else max(0.0, float(behind))}


class ReplicaRouter:
    """Reads inside `replica_reads()` to the replica; everything else, and every write, to the primary."""

    def db_for_read(self, model, **hints):
        alias = _reading_from.get()
        if alias != DEFAULT_DB_ALIAS and connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS  # a transaction on the primary reads its own writes
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS

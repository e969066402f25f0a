"""PostgreSQL with the tenant bound inside each transaction, never on the session.

Row-level security admits the rows of the tenant in `app.tenant_id`. Behind a transaction-pooling proxy
(PgBouncer in transaction mode) every transaction may run on a different server connection, so a session
setting would land on whichever connection the proxy picked and bind someone else's statements. Here the
setting is only ever LOCAL: the tenant lives in Python (`oms.rls.bind`, a context variable) and the first
statement of each transaction carries it. With Django's client-side binding that costs no round trip:
`SELECT set_config('app.tenant_id', '42', true); <statement>` travels as one simple-protocol message, which
PostgreSQL runs as one transaction even in autocommit. Cursors that bind on the server (the few prepared hot
statements) pipeline it with the statement; COPY and named cursors send it as a statement of its own in the same
transaction.

Nor does the BEGIN of a transaction: psycopg would send it alone before the first statement; it rides in front of
the binding instead. Savepoints cost no round trip of their own either: Django's SAVEPOINT and RELEASE are queued and ride in front of
the next statement in the same message (one that never comes needs neither: COMMIT ends them, a rollback to a
savepoint nothing has run under has nothing to undo). Each nested `transaction.atomic()`, such as the one around every
event subscriber, used to be two round trips.

Nor do writes whose answer nobody waits for (`queue_write`: history rows, activity entries, outbox rows): they wait
in the same queue and are pipelined in front of the transaction's next statement, or its COMMIT. Reads that do not
wait for one another go together (`fetch_together`): one round trip for all of them.

The login role is the application role itself (a pooler keeps one pool per role), so no SET ROLE either.
"""

import re
import select
import time
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import NamedTuple

from django.db import DataError, IntegrityError
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from django.db.transaction import TransactionManagementError
from psycopg import ClientCursor, OperationalError, pq, sql
from psycopg import Cursor as PlainCursor
from psycopg._preparing import Prepare, PrepareManager  # pinned psycopg: tests/oms/test_db.py holds it

from oms import tenant_binding

IDLE = pq.TransactionStatus.IDLE
_UNKNOWN = object()  # the transaction's setting is not known (a savepoint rollback may have undone it)
BOUND = object()  # `_pending`: the transaction already holds the wanted tenant
QUIET_SOCKET_TRUSTED = 1.0  # seconds since a connection's last use within which a quiet socket passes the check


def _pending(conn):
    """The tenant to bind before the next statement on `conn`, or `BOUND` when the transaction holds it."""
    wanted = tenant_binding.current()
    if conn.autocommit:
        held = None  # each statement is a transaction of its own, starting with nothing set
    elif conn.pgconn.transaction_status == IDLE:
        held = conn.oms_tenant = None  # this statement opens a transaction
    else:
        held = getattr(conn, "oms_tenant", _UNKNOWN)
    return BOUND if wanted == held else wanted


# Statements PostgreSQL refuses inside a transaction block, which a two-statement message is: maintenance that reads
# no row through the policies, so it runs as sent.
_OUTSIDE_TRANSACTIONS = re.compile(
    r"\s*(VACUUM|(CREATE|DROP)\s+DATABASE|ALTER\s+SYSTEM|(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY"
    r"|REINDEX\b[^;]*\bCONCURRENTLY)\b",
    re.IGNORECASE,
)


@contextmanager
def _own_begin(conn):
    """psycopg opens a transaction itself before a statement when not in autocommit and idle, with a BEGIN that costs
    a round trip of its own: told it is in autocommit meanwhile, it sends only what it is given, whose BEGIN opens
    the transaction, which then stays open."""
    conn._autocommit = True
    try:
        yield
    finally:
        conn._autocommit = False


def _held(conn, tenant) -> None:
    if not conn.autocommit:
        conn.oms_tenant = tenant


class Ahead(NamedTuple):
    """A statement that rides in front of the next one: Django's savepoint statements (`sid` names the savepoint),
    a tenant binding, or a queued write (with its parameters)."""

    sid: str | None
    sql: str
    params: list | None = None
    prepare: bool = False

    @property
    def is_write(self) -> bool:
        return self.params is not None


def _queue(conn) -> list[Ahead]:
    """What waits to ride in front of the next statement on `conn`, oldest first."""
    try:
        return conn.oms_ahead
    except AttributeError:
        conn.oms_ahead = []
        return conn.oms_ahead


def _prefix(conn) -> tuple[object, list[Ahead]]:
    """What must run before the next statement on `conn`: the tenant to bind (or `BOUND`) and the queue, which is
    taken off (once in a message they run, even if the statement after them fails)."""
    tenant = _pending(conn)
    queue = _queue(conn)
    # The binding goes last: a queued write runs under the tenant bound when it was queued.
    ahead = queue + ([] if tenant is BOUND else [Ahead(None, tenant_binding.binding_sql(tenant))])
    queue.clear()
    return tenant, ahead


def _queued_at(queue: list[Ahead], sid: str) -> int | None:
    """Where the SAVEPOINT of `sid` waits in the queue, or None once it has been sent."""
    for index, item in enumerate(queue):
        if item.sid == sid and item.sql.startswith("SAVEPOINT"):
            return index
    return None


def _send_ahead(conn, ahead: list[Ahead]) -> None:
    """Put these in the pipeline open on `conn`: text statements as they are, writes with their parameters."""
    try:
        text, writes = conn.oms_senders
    except AttributeError:  # psycopg's own cursors, which carry no prefix of their own; made once per session
        text, writes = conn.oms_senders = ClientCursor(conn), PlainCursor(conn)
    for item in ahead:
        if item.is_write:
            writes.execute(item.sql, item.params, prepare=item.prepare)
        else:
            text.execute(item.sql)


def queue_write(conn, sql: str, params: list, *, prepare: bool) -> None:
    """Queue a write whose answer nobody waits for (no rows, no count) in the open transaction on `conn`: it is
    pipelined in front of the transaction's next statement or its COMMIT, so it costs no round trip of its own. It
    runs under the tenant bound now (the binding is queued in front of it if due). If it fails, the statement it
    rides with raises its error, and the transaction fails as it would have: queue only writes that break no
    constraint a caller handles. A rollback (to a savepoint it came after) drops it unsent."""
    if conn.autocommit or conn.pgconn.transaction_status != pq.TransactionStatus.INTRANS:
        raise RuntimeError("queue_write: only inside an open transaction")
    tenant, queue = _pending(conn), _queue(conn)
    if tenant is not BOUND:
        queue.append(Ahead(None, tenant_binding.binding_sql(tenant)))
        _held(conn, tenant)
    queue.append(Ahead(None, sql, params, prepare))


def fetch_together(conn, statements: list[tuple[str, list, bool]]) -> list:
    """Statements none of which waits for another's answer, `(sql, params, prepare)` each, in one round trip:
    pipelined behind what must come first (the BEGIN, the binding, queued savepoints and writes), run by the server
    in order, one after another as if sent one at a time, their answers read after one sync. The cursors that ran
    them, in order, each holding its statement's result; they are the session's own and are reused by the next call.
    In autocommit the pipeline is one implicit transaction up to its sync: all of them see one binding."""
    try:
        readers = conn.oms_readers
    except AttributeError:  # plain psycopg cursors, which carry no prefix of their own; made once per session
        readers = conn.oms_readers = []
    while len(readers) < len(statements):
        readers.append(PlainCursor(conn))

    def send():
        for reader, (query, params, prepare) in zip(readers, statements, strict=False):  # readers may be more
            reader.execute(query, params, prepare=prepare)

    opening = not conn.autocommit and conn.pgconn.transaction_status == IDLE
    _pipelined_behind(conn, opening, *_prefix(conn), send)
    return readers[: len(statements)]


def _pipelined_behind(conn, opening: bool, tenant, prefix: list[Ahead], send):
    """`send()`'s statements in one pipeline behind what must come first: the transaction's BEGIN when `opening`,
    and `prefix` (`_prefix`: queued savepoints and writes, the binding). What `send` returns."""
    if opening:
        prefix.insert(0, Ahead(None, conn._get_tx_start_command().decode()))
    with _own_begin(conn) if opening else nullcontext(), conn.pipeline():
        _send_ahead(conn, prefix)
        result = send()
    if tenant is not BOUND:
        _held(conn, tenant)
    return result


class _SeparateBinding:
    """For cursors that cannot carry two statements in one message: bind first, in the same transaction."""

    def _bind_then(self, run, *args, **kwargs):
        tenant, prefix = _prefix(self.connection)
        if not prefix:
            return run(*args, **kwargs)
        if self.connection.autocommit:  # nothing is queued outside a transaction: only the binding
            with self.connection.transaction():
                self._send(prefix)
                return run(*args, **kwargs)
        self._send(prefix)
        if tenant is not BOUND:
            _held(self.connection, tenant)
        return run(*args, **kwargs)

    def _send(self, ahead: list[Ahead]) -> None:
        with self.connection.pipeline():
            _send_ahead(self.connection, ahead)

    def executemany(self, query, params_seq, **kwargs):
        return self._bind_then(super().executemany, query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        if self.connection.autocommit and _pending(self.connection) is not BOUND:
            raise RuntimeError("COPY of a bound tenant's rows runs inside a transaction (transaction.atomic).")
        return self._bind_then(super().copy, statement, params, **kwargs)


class Cursor(_SeparateBinding, base.Cursor):
    """Client-side binding (Django's default): the setting rides in front of the statement, and so does the BEGIN
    of a transaction's first statement, which psycopg would otherwise send as a round trip of its own."""

    def execute(self, query, params=None, **kwargs):
        if kwargs.get("prepare"):  # a prepared statement is one statement
            return self._bind_then(super().execute, query, params, **kwargs)
        if isinstance(query, str) and _OUTSIDE_TRANSACTIONS.match(query):
            return super().execute(query, params, **kwargs)
        conn = self.connection
        opening = not conn.autocommit and conn.pgconn.transaction_status == IDLE
        tenant, prefix = _prefix(conn)
        if any(item.is_write for item in prefix):
            # Writes are queued in an open transaction only, so there is no BEGIN to send. A message of text
            # statements cannot carry their parameters: pipelined with the statement, which a pipeline takes alone
            # (what may hold several goes after them).
            if isinstance(query, str | bytes) and (";" if isinstance(query, str) else b";") not in query:
                with conn.pipeline():
                    _send_ahead(conn, prefix)
                    result = super().execute(query, params, **kwargs)
            else:
                self._send(prefix)
                result = super().execute(query, params, **kwargs)
            if tenant is not BOUND:
                _held(conn, tenant)
            return result
        if opening:
            prefix.insert(0, Ahead(None, conn._get_tx_start_command().decode()))  # BEGIN, at the isolation asked
        if not prefix:
            return super().execute(query, params, **kwargs)
        ahead = "; ".join(item.sql for item in prefix) + "; "
        if isinstance(query, str):
            query = ahead + query
        elif isinstance(query, bytes):
            query = ahead.encode() + query
        else:
            query = sql.Composed([sql.SQL(ahead), query])
        with _own_begin(conn) if opening else nullcontext():
            result = super().execute(query, params, **kwargs)
        for _ in prefix:
            self.nextset()  # on to the statement's own result
        if tenant is not BOUND:
            _held(conn, tenant)
        return result


class ServerBindingCursor(_SeparateBinding, base.ServerBindingCursor):
    """Server-side binding (the prepared hot statements, `oms.db.fetch_prepared`): what must come first (the
    transaction's BEGIN, the binding, queued savepoints) is pipelined with the statement, one round trip in all,
    where psycopg would send each and wait for its answer before the next. In autocommit the pipeline is one
    implicit transaction up to its Sync, as a message of several statements is: the binding holds for the statement
    and ends with it."""

    def execute(self, query, params=None, **kwargs):
        conn = self.connection
        opening = not conn.autocommit and conn.pgconn.transaction_status == IDLE
        tenant, prefix = _prefix(conn)
        if not prefix and not opening:
            return super().execute(query, params, **kwargs)
        return _pipelined_behind(conn, opening, tenant, prefix, partial(super().execute, query, params, **kwargs))


class ServerSideCursor(_SeparateBinding, base.ServerSideCursor):
    """Named cursors (`QuerySet.iterator()`); in autocommit Django declares them WITH HOLD, and a held cursor is
    materialised at its transaction's commit, so the rows are read under the binding."""

    def execute(self, query, params=None, **kwargs):
        return self._bind_then(super().execute, query, params, **kwargs)


class _PreparedKeptAcrossRollbacks(PrepareManager):
    """psycopg forgets every prepared statement at any rollback, a savepoint's included, and deallocates them on the
    server, in case one refers to something the rollback undid. The application's transactions change no schema, so
    a refused request or a failed subscriber would only cost every hot statement of the session its parse and plans
    again (measured under load: a quarter of the prepared statements' runs planned anew). A schema change (DROP,
    ALTER, DISCARD ALL, DEALLOCATE ALL: migrations) still drops them, as psycopg does."""

    _schema_change = re.compile(rb"^(?:DROP|ALTER|DISCARD ALL|DEALLOCATE ALL)\b").match

    def _should_discard(self, prep, results) -> bool:
        if self._names or prep == Prepare.SHOULD:
            for result in results:
                if result.status == pq.ExecStatus.COMMAND_OK and self._schema_change(result.command_status or b""):
                    return super().clear()
        return False

    def clear(self) -> bool:  # what psycopg calls at a rollback
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        kept = _PreparedKeptAcrossRollbacks()
        kept.prepare_threshold, kept.prepared_max = connection.prepare_threshold, connection.prepared_max
        connection._prepared = kept
        return connection

    def get_connection_params(self):
        params = super().get_connection_params()
        server_side = self.settings_dict["OPTIONS"].get("server_side_binding") is True
        params["cursor_factory"] = ServerBindingCursor if server_side else Cursor
        return params

    def create_cursor(self, name=None):
        if name and self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            cursor = ServerSideCursor(self.connection, name=name, scrollable=False, withhold=self.connection.autocommit)
            return self._with_timezone(cursor)
        return super().create_cursor(name)

    def _with_timezone(self, cursor):
        # What Django's create_cursor does after making the cursor.
        tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
        if self.timezone != tzloader.timezone:
            base.register_tzloader(self.timezone, cursor)
        return cursor

    # Queued writes never cross a savepoint's edge, so a failing one is its own block's error, as if sent alone: the
    # writes of the block around a new savepoint go before it opens, a block's own writes before it is released.

    def _send_queue(self):
        """Send the queue now (one round trip), with the binding if due."""
        conn = self.connection
        tenant, ahead = _prefix(conn)
        with self.wrap_database_errors, conn.pipeline():
            _send_ahead(conn, ahead)
        if tenant is not BOUND:
            _held(conn, tenant)

    def _savepoint(self, sid):
        queue = _queue(self.connection)
        if any(item.is_write for item in queue):
            try:
                self._send_queue()
            except (IntegrityError, DataError) as exc:
                # The enclosing block's write broke a rule: raised as what no caller of the new block handles as its
                # own error (a lost connection, a deadlock or a timeout keep their class: retries look for it).
                self.needs_rollback = True
                raise TransactionManagementError(f"A write of the enclosing transaction failed: {exc}") from exc
            except Exception:
                self.needs_rollback = True  # the enclosing block can only roll back, whoever catches this here
                raise
        queue.append(Ahead(sid, self.ops.savepoint_create_sql(sid)))

    def _savepoint_commit(self, sid):
        queue = _queue(self.connection)
        index = _queued_at(queue, sid)
        if any(item.is_write for item in queue[index or 0 :]):
            # Sent with the RELEASE: if one fails, Django rolls back to this savepoint (which the pipeline made
            # first) and the error leaves the block that queued the write.
            queue.append(Ahead(sid, self.ops.savepoint_commit_sql(sid)))
            self._send_queue()
        elif index is not None:
            del queue[index:]  # never sent, so nothing ran under it: nothing to release
        else:
            queue.append(Ahead(sid, self.ops.savepoint_commit_sql(sid)))

    def _savepoint_rollback(self, sid):
        queue = _queue(self.connection)
        index = _queued_at(queue, sid)
        if index is not None:
            # Nothing ran under it: nothing to undo, and what waits under it is dropped unsent. It stays queued for
            # the RELEASE Django sends next (which then drops it), so a release is never sent for a savepoint the
            # server has not seen. A binding dropped with the rest is no longer held.
            if any(item.sid is None for item in queue[index + 1 :]):
                self.connection.oms_tenant = _UNKNOWN
            del queue[index + 1 :]
            return
        queue.clear()  # all of it lies inside the savepoint being undone
        # Sent bare: after a failed statement the transaction accepts nothing else, a binding included.
        with self.wrap_database_errors, ClientCursor(self.connection) as cursor:
            cursor.execute(self.ops.savepoint_rollback_sql(sid))
        # The rollback restored whatever the setting was at the savepoint; bind again before the next statement.
        self.connection.oms_tenant = _UNKNOWN

    def ensure_connection(self):
        super().ensure_connection()  # the health check, if one is due, has run: it reads the time of the last use
        self.oms_used_at = time.monotonic()

    def is_usable(self):
        """Django's health check asks the server (`SELECT 1`) before each request's first statement: a round trip
        per request. A connection the server has closed or is closing (a restart, an administrator's terminate, a
        pooler's timeout) has something on its socket to read: the server's last word, then the end of the stream.
        An idle, healthy one has nothing (this application listens to no channel). So a quiet socket is taken at its
        word when the connection was used within the last `QUIET_SOCKET_TRUSTED` seconds, as under load; otherwise,
        with something to read, or inside a transaction (Django asks whether a failed one can go on), the server is
        asked. A peer that vanished without a word (a host that crashed, an address that moved) leaves the socket
        quiet too: only asking finds it, so the check trusts the quiet for a second at most, when a failure would
        break the requests in flight anyway (tests/oms/test_health_check.py)."""
        conn = self.connection
        if conn is None or conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
            return False
        if (
            conn.pgconn.transaction_status != IDLE
            or time.monotonic() - getattr(self, "oms_used_at", 0.0) > QUIET_SOCKET_TRUSTED
        ):
            return super().is_usable()
        try:
            waiting = select.poll()  # not select(): it refuses descriptors above 1023, common in a busy process
            waiting.register(conn.pgconn.socket, select.POLLIN)
            quiet = not waiting.poll(0)
        except (OSError, ValueError, OperationalError):  # the socket is gone already
            return False
        return quiet or super().is_usable()

    def _commit(self):
        if self.connection is None:
            return None
        queue = _queue(self.connection)
        ahead = [item for item in queue if item.sid is None]  # COMMIT ends every savepoint
        queue.clear()
        if not any(item.is_write for item in ahead):
            return super()._commit()
        # COMMIT as one more statement of the pipeline: psycopg's commit() would sync on its own, a round trip more.
        with debug_transaction(self, "COMMIT"), self.wrap_database_errors, self.connection.pipeline():
            _send_ahead(self.connection, [*ahead, Ahead(None, "COMMIT")])
        return None

    def _rollback(self):
        if self.connection is not None:
            _queue(self.connection).clear()
        return super()._rollback()

"""PostgreSQL with the tenant bound inside each transaction, never on the session.

Row-level security admits the rows of the tenant in `app.tenant_id`. Behind a transaction-pooling proxy
(PgBouncer in transaction mode) every transaction may run on a different server connection, so a session
setting would land on whichever connection the proxy picked and bind someone else's statements. Here the
setting is only ever LOCAL: the tenant lives in Python (`oms.rls.bind`, a context variable) and the first
statement of each transaction carries it. With Django's client-side binding that costs no round trip:
`SELECT set_config('app.tenant_id', '42', true); <statement>` travels as one simple-protocol message, which
PostgreSQL runs as one transaction even in autocommit. Cursors that bind on the server (the few prepared hot
statements), COPY and named cursors send the setting as a statement of its own in the same transaction.

The login role is the application role itself (a pooler keeps one pool per role), so no SET ROLE either.
"""

import re

from django.db.backends.postgresql import base
from psycopg import pq, sql

from oms import tenant_binding

IDLE = pq.TransactionStatus.IDLE
_UNKNOWN = object()  # the transaction's setting is not known (a savepoint rollback may have undone it)
BOUND = object()  # `_pending`: the transaction already holds the wanted tenant


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


def _held(conn, tenant) -> None:
    if not conn.autocommit:
        conn.oms_tenant = tenant


class _SeparateBinding:
    """For cursors that cannot carry two statements in one message: bind first, in the same transaction."""

    def _bind_then(self, run, *args, **kwargs):
        tenant = _pending(self.connection)
        if tenant is BOUND:
            return run(*args, **kwargs)
        if self.connection.autocommit:
            with self.connection.transaction():
                self._send_binding(tenant)
                return run(*args, **kwargs)
        self._send_binding(tenant)
        _held(self.connection, tenant)
        return run(*args, **kwargs)

    def _send_binding(self, tenant) -> None:
        with self.connection.cursor() as binder:
            binder.execute(tenant_binding.binding_sql(tenant))

    def executemany(self, query, params_seq, **kwargs):
        return self._bind_then(super().executemany, query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        if self.connection.autocommit and _pending(self.connection) is not BOUND:
            raise RuntimeError("COPY of a bound tenant's rows runs inside a transaction (transaction.atomic).")
        return self._bind_then(super().copy, statement, params, **kwargs)


class Cursor(_SeparateBinding, base.Cursor):
    """Client-side binding (Django's default): the setting rides in front of the statement."""

    def execute(self, query, params=None, **kwargs):
        if kwargs.get("prepare"):  # a prepared statement is one statement
            return self._bind_then(super().execute, query, params, **kwargs)
        tenant = _pending(self.connection)
        if tenant is BOUND or (isinstance(query, str) and _OUTSIDE_TRANSACTIONS.match(query)):
            return super().execute(query, params, **kwargs)
        binding = tenant_binding.binding_sql(tenant) + "; "
        if isinstance(query, str):
            query = binding + query
        elif isinstance(query, bytes):
            query = binding.encode() + query
        else:
            query = sql.Composed([sql.SQL(binding), query])
        result = super().execute(query, params, **kwargs)
        self.nextset()  # to the statement's own result
        _held(self.connection, tenant)
        return result


class ServerBindingCursor(_SeparateBinding, base.ServerBindingCursor):
    def execute(self, query, params=None, **kwargs):
        return self._bind_then(super().execute, query, params, **kwargs)


class ServerSideCursor(_SeparateBinding, base.ServerSideCursor):
    """Named cursors (`QuerySet.iterator()`); in autocommit Django declares them WITH HOLD, and a held cursor is
    materialised at its transaction's commit, so the rows are read under the binding."""

    def execute(self, query, params=None, **kwargs):
        return self._bind_then(super().execute, query, params, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
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

    def _savepoint_rollback(self, sid):
        super()._savepoint_rollback(sid)
        # The rollback restored whatever the setting was at the savepoint; bind again before the next statement.
        self.connection.oms_tenant = _UNKNOWN

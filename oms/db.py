"""Database helpers shared by every app."""

import datetime
import decimal
import functools
import json
import logging
import random
import time
import uuid
import weakref
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.db.models import Lookup, signals

from oms.dbbackend.base import ServerBindingCursor, fetch_together, queue_write

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


def _rows(cursor) -> list[tuple]:
    """The statement's rows, none for one that returns none (`description` would build a column object each)."""
    result = cursor.pgresult
    return cursor.fetchall() if result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK else []


def _session(db):
    """The database session, ready for statements that ask to be prepared."""
    db.ensure_connection()
    session = db.connection
    if session.prepare_threshold is None:
        # Django's "no prepared statements" is threshold None, which refuses even an explicit prepare=True; a
        # threshold never reached keeps psycopg from preparing on its own and lets these statements ask.
        session.prepare_threshold = 2**31 - 1
    return session


def _logged_sql(sql: str, params) -> str:
    return f"{sql} /* params: {[str(p) if p is not None else None for p in params]} */"


SENT_AHEAD = "/* sent ahead of the next statement */"  # how a queued write shows in the query log


def fetch_prepared(sql: str, params) -> list[tuple]:
    """Run a hot statement, parsed and planned once per session; its rows (none for a statement that returns none).
    For a statement whose best plan does not depend on its values (see HotQuery): a row by its key, an INSERT.

    Django turns prepared statements off for every query (they break behind transaction-pooling proxies); this
    opts in for the few statements that ask for it, with `DATABASE_PREPARED_STATEMENTS = False` to opt out.
    Errors surface as Django's, and query logging and test query counts work as usual.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs a lookup per attribute
    session, prepare = _session(db), settings.DATABASE_PREPARED_STATEMENTS
    raw = _session_cursors.get(session)
    if raw is None or raw.closed:
        raw = _session_cursors[session] = _PreparingCursor(session)
    raw.prepare = prepare
    if db.queries_logged or db.execute_wrappers:
        # DEBUG, a test counting queries, or instrumentation wrapping each statement (`execute_wrapper`): Django's
        # cursor wrapper records the statement and runs the wrappers.
        cursor = db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)
        cursor.execute(sql, params)
        logged = db.queries_log[-1] if db.queries_logged and db.queries_log else None
        if logged is not None and logged["sql"] is None:  # Django reads no text back from a prepared statement
            logged["sql"] = _logged_sql(sql, params)
        return _rows(raw)
    # What Django's wrapper does, without its layers of calls (they are a fifth of this path's client time).
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        raw.execute(sql, params)
        return _rows(raw)


def send_ahead(sql: str, params) -> None:
    """A hot write whose answer nobody waits for (no rows, no count): parsed and planned once per session as
    `fetch_prepared`, but inside a transaction not sent alone: it rides in front of the transaction's next statement
    or its COMMIT (`oms.dbbackend.base.queue_write`), one round trip fewer. If it fails, that statement raises its
    error and the transaction fails: only for writes that break no constraint a caller handles. Outside a
    transaction it runs at once. The query log shows it when it is asked for, marked `SENT_AHEAD`."""
    db = connections[DEFAULT_DB_ALIAS]
    session = _session(db)
    if db.get_autocommit() or session.pgconn.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        fetch_prepared(sql, params)
        return
    db.validate_no_broken_transaction()
    queue_write(session, sql, params, prepare=settings.DATABASE_PREPARED_STATEMENTS)
    if db.queries_logged:
        db.queries_log.append({"sql": f"{_logged_sql(sql, params)} {SENT_AHEAD}", "time": "0.000"})


def _fetch(sql: str, params, prepared: bool) -> list[tuple]:
    """One statement's rows: prepared (`fetch_prepared`), or planned for its values through Django's cursor."""
    if prepared:
        return fetch_prepared(sql, params)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _together(statements: list[tuple[str, list, bool]]) -> list[list[tuple]]:
    """Statements none of which needs another's answer, `(sql, params, prepared)`, in one round trip instead of one
    each (`oms.dbbackend.base.fetch_together`); their rows, in order. Run in the order given, as if sent one by one;
    if one fails, it raises and the rest do not run. The query log shows each, all but the last marked `SENT_AHEAD`
    (they ride in front of it). Under instrumentation that wraps each statement (`execute_wrapper`) they run one by
    one, each through it."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.execute_wrappers:
        return [_fetch(sql, params, prepared) for sql, params, prepared in statements]
    session, prepare = _session(db), settings.DATABASE_PREPARED_STATEMENTS
    db.validate_no_broken_transaction()
    started = time.monotonic()
    with db.wrap_database_errors:
        readers = fetch_together(session, [(sql, params, prepared and prepare) for sql, params, prepared in statements])
        rows = [_rows(reader) for reader in readers]
    if db.queries_logged:
        took = f"{time.monotonic() - started:.3f}"
        for n, (sql, params, _) in enumerate(statements, start=1):
            ahead = f" {SENT_AHEAD}" if n < len(statements) else ""
            db.queries_log.append({"sql": f"{_logged_sql(sql, params)}{ahead}", "time": took if not ahead else "0.000"})
    return rows


def _json_value(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()  # every digit: DjangoJSONEncoder would cut microseconds
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value RowsInsert can send")


class RowsInsert:
    """New rows of one model in one INSERT whose values travel as one JSON parameter (`jsonb_to_recordset`): the
    same statement whatever the number of rows, with no placeholder, no quoting and no compiling per value, at a
    fraction of the client CPU of `bulk_create` or `save()`. Every column is written from the objects, which get
    their ids, as `bulk_create` gives them (objects that carry their ids keep them).

    `saved=True`: the model's `pre_save` and `post_save` signals are sent as `save()` sends them for a new row, so
    its history rows are written (django-simple-history listens). `ignore_conflicts=True`: a row a unique
    constraint already holds is skipped, and the objects get no ids (as with `bulk_create`). `unanswered=True`:
    rows nobody needs the ids of, which break no constraint a caller handles (history, activity, outbox): sent
    ahead of the transaction's next statement (`send_ahead`), and the objects get no ids. A call with `ahead=True`
    sends rows that carry their ids so, when they break no constraint that caller handles."""

    def __init__(self, model, *, saved: bool = False, ignore_conflicts: bool = False, unanswered: bool = False):
        self._model, self._saved, self._ignore_conflicts = model, saved, ignore_conflicts
        self._unanswered = unanswered
        # Every column but the generated id: a default Django fills in has none in the database.
        self._fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk and not f.generated]
        self._sql: dict[tuple[str, bool], str] = {}

    def _statement(self, db, with_ids: bool) -> str:
        """The INSERT; it returns the new ids only when the rows do not carry them and someone waits for them."""
        if (db.alias, with_ids) not in self._sql:
            quote, meta = db.ops.quote_name, self._model._meta
            fields = [meta.pk, *self._fields] if with_ids else self._fields
            columns = ", ".join(quote(f.column) for f in fields)
            # An array goes in cast, as the ORM sends it (`'{…}'::varchar(40)[]`: an element too long is cut, not
            # refused); every other value as its column's type.
            arrays = {f.column for f in fields if f.get_internal_type() == "ArrayField"}
            values = ", ".join(
                f"r.{quote(c)}::{f.db_type(db)}" if (c := f.column) in arrays else quote(c) for f in fields
            )
            types = ", ".join(f"{quote(f.column)} {'text[]' if f.column in arrays else f.db_type(db)}" for f in fields)
            tail = ""
            if self._ignore_conflicts:
                tail = "ON CONFLICT DO NOTHING"
            elif not with_ids and not self._unanswered:
                tail = f"RETURNING {quote(meta.pk.column)}"
            self._sql[db.alias, with_ids] = (
                f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {values} "  # noqa: S608 - the model's own
                f"FROM jsonb_to_recordset(%s::jsonb) AS r ({types}) {tail}"
            )
        return self._sql[db.alias, with_ids]

    def __call__(self, objs: list, *, ahead: bool = False) -> list:
        if not objs:
            return objs
        db, model = connections[DEFAULT_DB_ALIAS], self._model
        with_ids = objs[0].pk is not None
        if any((obj.pk is not None) != with_ids for obj in objs):
            raise ValueError("RowsInsert: either every object carries its id or none does.")
        if ahead and not with_ids:
            raise ValueError("RowsInsert: rows sent ahead must carry their ids (nobody reads the new ones back).")
        if self._saved:
            for obj in objs:
                signals.pre_save.send(sender=model, instance=obj, raw=False, using=db.alias, update_fields=None)
        fields = [model._meta.pk, *self._fields] if with_ids else self._fields
        rows = [{f.column: f.pre_save(obj, True) for f in fields} for obj in objs]
        # Prepared: the same statement whatever the rows, and parsing an INSERT of every column costs more than
        # running it.
        statement, params = self._statement(db, with_ids), [json.dumps(rows, default=_json_value)]
        if self._unanswered or ahead:
            send_ahead(statement, params)
        else:
            returned = fetch_prepared(statement, params)
            if not with_ids and not self._ignore_conflicts:
                ids = [row[0] for row in returned]  # in the order of the rows, as bulk_create relies on too
                for obj, pk in zip(objs, ids, strict=True):
                    obj.pk = pk
        for obj in objs:
            obj._state.adding, obj._state.db = False, db.alias
            if self._saved:
                signals.post_save.send(
                    sender=model, instance=obj, created=True, update_fields=None, raw=False, using=db.alias
                )
        return objs


class AnyOf(Lookup):
    """`field__any_of=[...]`: `= ANY(%s)` with the list as one array parameter, so the statement reads the same
    whatever the number of values (`__in` writes a placeholder per value): a `HotQuery` can take it. Or
    `field__any_of=ArraySubquery(...)`: the keys another table holds, found by the database first, then looked up
    by key; unlike `__in` with a subquery, no join the planner could turn into a walk of the table. Registered on
    the fields that need it."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if hasattr(self.rhs, "as_sql"):
            rhs, rhs_params = compiler.compile(self.rhs)
            return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


def as_prefetched(instance, related_name: str, objects: list) -> None:
    """`instance.<related_name>.all()` answers `objects` from memory from now on, as after `prefetch_related` (the
    way Django's prefetching keeps them), for related rows a `HotQuery` read."""
    manager = getattr(instance, related_name)
    for obj in objects:  # each row's own link back is the instance already in hand, as prefetching leaves it
        manager.field.set_cached_value(obj, instance)
    queryset = manager.all()  # not run: it only holds the rows
    queryset._result_cache, queryset._prefetch_done = list(objects), True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[related_name] = queryset


class HotQuery:
    """A query the ORM builds once per database session, then runs with new values: the same model instances
    (with what `select_related` and annotations bring), without building the queryset and its SQL again.

    Building them is most of the client's cost of a statement (≈ 0.4 ms of the CPU each), more than PostgreSQL
    takes to run most of them; hot paths run a few of them on every request. `build(**values)` makes the queryset;
    `samples` are distinct values of the right types, found among the compiled statement's parameters to know
    where each value goes (only plain comparisons keep a value as given, so only they are allowed). `build` must
    depend on its arguments alone: anything else it puts in the statement (the time now, a setting) is kept from the
    first build. The SQL goes through Django's cursor: the tenant binding, query logging and counts work as for
    any query.

    `prepared=True`: parsed and planned once per session (`fetch_prepared`), for a statement whose planning costs
    PostgreSQL more than its run and whose best plan does not depend on the values: a row by its key, joined to
    rows by theirs (measured: the API reserve's locked order with its status and customer, 0.54 ms to plan and
    0.06 to run). Not for the rest: after five runs PostgreSQL gives a prepared statement a generic plan, and under
    row-level security (the shop is a setting the planner cannot see) that plan can walk a whole table of the shop
    (measured: the order's lines joined to every product first, 0.6 ms instead of 0.08).
    """

    def __init__(self, build, *, prepared: bool = False, **samples):
        self._build, self._prepared, self._samples = build, prepared, samples
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __call__(self, **values) -> list:
        return self.with_values(**values).run()

    def with_values(self, **values) -> "HotRead":
        """The query with these values, not run yet (`read_together` runs several in one round trip)."""
        db = connections[DEFAULT_DB_ALIAS]
        plan = self._compiled.get(db) or self._compile(db)
        if plan.locks and db.get_autocommit():
            raise transaction.TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        return HotRead(
            plan, [values[name] if name is not None else constant for name, constant in plan.slots], self._prepared
        )

    def first(self, **values):
        """The first instance, or None (the query orders and limits itself)."""
        rows = self(**values)
        return rows[0] if rows else None

    def _compile(self, db) -> "_CompiledQuery":
        queryset = self._build(**self._samples)
        compiler = queryset.query.get_compiler(connection=db)
        sql, params = compiler.as_sql()
        slots = []
        for param in params:
            name = next((n for n, s in self._samples.items() if type(param) is type(s) and param == s), None)
            slots.append((name, param))
        missing = set(self._samples) - {name for name, _ in slots}
        if missing:
            raise ValueError(f"HotQuery: the statement does not take {sorted(missing)} as given: {sql}")
        plan = self._compiled[db] = _CompiledQuery(compiler, sql, slots, locks=queryset.query.select_for_update)
        return plan


class HotRead(NamedTuple):
    """A `HotQuery` with its values: run alone, or with others in one round trip (`read_together`)."""

    plan: "_CompiledQuery"
    params: list
    prepared: bool

    def run(self) -> list:
        return self.instances(connections[DEFAULT_DB_ALIAS], _fetch(self.plan.sql, self.params, self.prepared))

    def instances(self, db, rows) -> list:
        return [self.plan.instance(db, row) for row in self.plan.converted(rows)]


def read_together(*reads: HotRead) -> list[list]:
    """Hot queries none of which needs another's answer, in one round trip (`_together`): the model
    instances of each, in order. A prepared one is prepared as `HotQuery(prepared=True)` runs it; the others are
    planned for their values on every run, as they are when run alone."""
    db = connections[DEFAULT_DB_ALIAS]
    results = _together([(read.plan.sql, read.params, read.prepared) for read in reads])
    return [read.instances(db, rows) for read, rows in zip(reads, results, strict=True)]


class _CompiledQuery:
    """What ModelIterable works out from a compiler on every run, worked out once."""

    def __init__(self, compiler, sql, slots, *, locks):
        from django.db.models.query import get_related_populators

        self.sql, self.slots, self.locks = sql, slots, locks
        self._compiler = compiler
        select, klass_info = compiler.select, compiler.klass_info
        self._converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        self._model = klass_info["model"]
        fields = klass_info["select_fields"]
        self._start, self._end = fields[0], fields[-1] + 1
        self._attnames = [f[0].target.attname for f in select[self._start : self._end]]
        self._related = get_related_populators(klass_info, select, compiler.connection.alias)
        self._annotations = list((compiler.annotation_col_map or {}).items())

    def converted(self, rows):
        return self._compiler.apply_converters(rows, self._converters) if self._converters else rows

    def instance(self, db, row):
        obj = self._model.from_db(db.alias, self._attnames, row[self._start : self._end])
        for populator in self._related:
            populator.populate(row, obj)
        for name, position in self._annotations:
            setattr(obj, name, row[position])
        return obj

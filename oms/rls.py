"""Row-level security: the second wall between tenants, one the application itself cannot lift.

Every table with a `tenant_id` column gets ENABLE + FORCE ROW LEVEL SECURITY and a policy that admits only the
rows of the tenant bound to the connection (`app.tenant_id`). The policies are (re)applied after every `migrate`
to every tenant-owned table, so a new model cannot be forgotten.

Roles (see the README's security notes):
- the owner runs `migrate` (and maintenance such as `seed_bulk`); it owns the tables;
- the application role (`DATABASE_APP_ROLE`) is what web, worker and beat log in as: neither owner nor superuser,
  no BYPASSRLS, member of no other role, so it cannot leave itself or switch the wall off;
- the system role (`oms_system`, NOLOGIN) may read every tenant's rows, and only owns a few SECURITY DEFINER
  functions. The few paths that must look across shops before a shop is known (login's membership lookup, token
  lookup, sweeps, event dispatch) call those functions, each answering one narrow question (which tenant owns
  this event, which deliveries are due), never running SQL of the caller's choosing.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import connection

from oms import tenant_binding

logger = logging.getLogger(__name__)

TENANT_SETTING = "app.tenant_id"
POLICY = "tenant_isolation"
SYSTEM_POLICY = "system_read"
SYSTEM_ROLE = "oms_system"
_OLD_POLICIES = ("system_scope",)  # the earlier all-tenants switch, dropped wherever it still exists


@dataclass(frozen=True)
class SystemFunction:
    """A narrow cross-tenant question, answered by a SECURITY DEFINER function owned by the system role."""

    name: str
    arguments: str  # e.g. "p_user_id bigint"
    returns: str  # e.g. "SETOF bigint" or "TABLE (id bigint, tenant_id bigint)"
    body: str  # one SQL query

    @property
    def signature(self) -> str:
        types = ", ".join(arg.split()[-1] for arg in self.arguments.split(",") if arg.strip())
        return f"{self.name}({types})"

    def create_sql(self) -> str:
        if self.returns.split()[0].upper() in ("SETOF", "TABLE"):
            language, body = "sql", self.body
        else:
            # One value, asked on every API call or event: PL/pgSQL keeps the query's plan for the session, where a
            # SQL function that cannot be inlined (a SECURITY DEFINER one cannot) is planned on every call
            # (measured: the API token's, 0.17 ms a call, 0.05 kept).
            language, body = "plpgsql", f"BEGIN RETURN ({self.body}); END"
        return (
            f"CREATE OR REPLACE FUNCTION {self.name}({self.arguments}) RETURNS {self.returns} "
            f"LANGUAGE {language} STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$ {body} $fn$"
        )


_system_functions: dict[str, SystemFunction] = {}


def system_function(name: str, *, arguments: str, returns: str, body: str) -> SystemFunction:
    """Declare a system function (apps call this at import time of their `system.py`); installed after migrate."""
    function = SystemFunction(name, arguments, returns, body)
    _system_functions[name] = function
    return function


def system_rows(function: SystemFunction, *args) -> list[tuple]:
    """Ask a system function; the only way the app looks across tenants."""
    placeholders = ", ".join(["%s"] * len(args))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {function.name}({placeholders})", list(args))  # noqa: S608 - declared names
        return cursor.fetchall()


def system_value(function: SystemFunction, *args):
    rows = system_rows(function, *args)
    return rows[0][0] if rows else None


def tenant_tables() -> list[str]:
    """Every table of an installed model that has a `tenant` foreign key column (history tables included)."""
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        field_names = {f.attname for f in model._meta.concrete_fields}
        if "tenant_id" in field_names and not model._meta.proxy and model._meta.managed:
            tables.add(model._meta.db_table)
    return sorted(tables)


def policy_sql(table: str) -> list[str]:
    quoted = connection.ops.quote_name(table)
    bound = f"(SELECT NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint)"
    return [
        f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {old} ON {quoted}" for old in _OLD_POLICIES),
        f"DROP POLICY IF EXISTS {POLICY} ON {quoted}",
        f"CREATE POLICY {POLICY} ON {quoted} USING (tenant_id = {bound}) WITH CHECK (tenant_id = {bound})",
        f"DROP POLICY IF EXISTS {SYSTEM_POLICY} ON {quoted}",
        f"CREATE POLICY {SYSTEM_POLICY} ON {quoted} FOR SELECT TO {SYSTEM_ROLE} USING (true)",
    ]


_role_grants: list[Callable[[str], list[str]]] = []


def register_role_grants(grants: Callable[[str], list[str]]) -> None:
    """An app whose objects live outside the public schema (orders' number sequences) grants the application role
    its rights on them: `grants(quoted_role)` returns the statements, run as the owner after every migrate."""
    if grants not in _role_grants:
        _role_grants.append(grants)


def grant_sql(role: str) -> list[str]:
    quoted = connection.ops.quote_name(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}",
        *(statement for grants in _role_grants for statement in grants(quoted)),
    ]


def _ensure_role(cursor, role: str, attributes: str) -> None:
    """Create the role, or bring an existing one (made by an earlier version) to exactly these attributes."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = "ALTER" if cursor.fetchone() else "CREATE"
    cursor.execute(f"{verb} ROLE {connection.ops.quote_name(role)} {attributes}")


def install_system_functions(cursor, app_role: str) -> None:
    for function in _system_functions.values():
        cursor.execute(function.create_sql())
        cursor.execute(f"ALTER FUNCTION {function.signature} OWNER TO {SYSTEM_ROLE}")
        cursor.execute(f"REVOKE ALL ON FUNCTION {function.signature} FROM PUBLIC")
        if app_role:
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {function.signature} TO {connection.ops.quote_name(app_role)}")


def apply_policies(using="default", **kwargs) -> None:
    """post_migrate (run as the owner): policies on every tenant table, the roles, their grants, system functions."""
    if connection.vendor != "postgresql":
        return
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if role and cursor.fetchone()[0] == role:
            return  # the application role owns nothing to apply (a flush between tests emits post_migrate too)
        _ensure_role(cursor, SYSTEM_ROLE, "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {SYSTEM_ROLE}")
        cursor.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {SYSTEM_ROLE}")
        for table in tenant_tables():
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is None:
                continue
            for statement in policy_sql(table):
                cursor.execute(statement)
        if role:
            _ensure_role(cursor, role, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT")
            password = getattr(settings, "DATABASE_APP_PASSWORD", "")
            if password:
                cursor.execute(f"ALTER ROLE {connection.ops.quote_name(role)} PASSWORD %s", [password])
            for statement in grant_sql(role):
                cursor.execute(statement)
        install_system_functions(cursor, role)


def active() -> bool:
    """The wall binds only connections of the application role (a superuser or owner bypasses it anyway)."""
    return bool(getattr(settings, "DATABASE_APP_ROLE", ""))


def bind(tenant_id: int | None) -> None:
    """Work for this tenant (or none) from here on: every transaction of this thread binds it, at no extra round
    trip (oms/dbbackend/base.py); never a session setting, so a transaction-pooling proxy cannot carry it over."""
    tenant_binding.set_current(tenant_id)


set_tenant = bind


def bind_to_token(token_hash: str) -> None:
    """Work for the shop of the API token with this hash, which the next statement's binding finds (one round trip
    with that statement); `bind` the shop's id once that statement has read the token."""
    tenant_binding.set_token_shop(token_hash)


def bound_tenant() -> int | None:
    return tenant_binding.current()


@contextmanager
def tenant_context(tenant_id: int):
    """For tasks and commands: everything inside sees only this tenant's rows."""
    previous = bound_tenant()
    bind(tenant_id)
    try:
        yield
    finally:
        bind(previous)


def each_tenant(tenant_ids, work: Callable[[int], int], *, what: str) -> int:
    """For beat's sweeps: `work(tenant_id)` inside each tenant in turn, the sum of what it returns. One tenant's
    failure (bad data the sweep did not foresee) is logged and skipped, never stopping the tenants after it."""
    total = 0
    for tenant_id in tenant_ids:
        try:
            with tenant_context(tenant_id):
                total += work(tenant_id)
        except Exception:
            logger.exception("%s failed for tenant %s; the other tenants go on", what, tenant_id)
    return total

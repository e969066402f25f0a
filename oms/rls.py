"""Row-level security: the second wall between tenants.

Every table with a `tenant_id` column gets ENABLE + FORCE ROW LEVEL SECURITY and a policy that admits only the
rows of the tenant set for the connection (`app.tenant_id`), read once per query through a sub-select. The
policies are (re)applied after every `migrate` to every tenant-owned table, so a new model cannot be forgotten.

The application connects as a role that is neither owner nor superuser (`DATABASE_APP_ROLE`), so the policies
bind it; migrations run as the owner. A few system paths that must look across tenants before a tenant is known
(login's membership lookup, API token lookup, beat sweeps that list work) open `all_tenants()` explicitly.
"""

from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import connection

TENANT_SETTING = "app.tenant_id"
ALL_TENANTS_SETTING = "app.all_tenants"
POLICY = "tenant_isolation"
SYSTEM_POLICY = "system_scope"


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
    return [
        f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {quoted}",
        f"CREATE POLICY {POLICY} ON {quoted} USING "
        f"(tenant_id = (SELECT NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint)) "
        f"WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint))",
        f"DROP POLICY IF EXISTS {SYSTEM_POLICY} ON {quoted}",
        f"CREATE POLICY {SYSTEM_POLICY} ON {quoted} USING "
        f"((SELECT current_setting('{ALL_TENANTS_SETTING}', true)) = 'on')",
    ]


def grant_sql(role: str) -> list[str]:
    quoted = connection.ops.quote_name(role)
    return [
        f"GRANT USAGE, CREATE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]


def apply_policies(using="default", **kwargs) -> None:
    """post_migrate: policies on every tenant table, and the application role's grants."""
    if connection.vendor != "postgresql":
        return
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    with connection.cursor() as cursor:
        for table in tenant_tables():
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is None:
                continue
            for statement in policy_sql(table):
                cursor.execute(statement)
        if role:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {connection.ops.quote_name(role)} LOGIN NOSUPERUSER NOBYPASSRLS")
            for statement in grant_sql(role):
                cursor.execute(statement)


def active() -> bool:
    """The wall binds only connections of the application role (a superuser or owner bypasses it anyway)."""
    return bool(getattr(settings, "DATABASE_APP_ROLE", ""))


def bind(tenant_id: int | None) -> None:
    """Bind this connection to one tenant (or none) and close any all-tenants scope, in one round trip."""
    if not active():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, false), set_config(%s, '', false)",
            [TENANT_SETTING, str(tenant_id or ""), ALL_TENANTS_SETTING],
        )


def set_tenant(tenant_id: int | None) -> None:
    """Bind this connection to one tenant (or to none)."""
    if not active():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [TENANT_SETTING, str(tenant_id or "")])


@contextmanager
def tenant_context(tenant_id: int):
    """For tasks and commands: everything inside sees only this tenant's rows."""
    if not active():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [TENANT_SETTING])
        previous = cursor.fetchone()[0] or ""
    set_tenant(tenant_id)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [TENANT_SETTING, previous])


@contextmanager
def all_tenants():
    """A narrow, explicit system scope that looks across tenants (login lookup, token lookup, sweeps)."""
    if not active():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', false)", [ALL_TENANTS_SETTING])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, '', false)", [ALL_TENANTS_SETTING])


def use_app_role(sender, connection, **kwargs) -> None:
    """connection_created: drop to the application role so the policies bind this connection."""
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    if role and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {connection.ops.quote_name(role)}")

"""Which tenant this thread (or task) works for: the value row-level security binds in each transaction.

Kept in Python, not on the database session (see oms/dbbackend/base.py); oms.rls is the interface to it.
"""

from contextvars import ContextVar

_current: ContextVar[int | None] = ContextVar("tenant_binding", default=None)


def current() -> int | None:
    return _current.get()


def set_current(tenant_id: int | None) -> None:
    _current.set(int(tenant_id) if tenant_id else None)


def binding_sql(tenant_id: int | None) -> str:
    """The statement that binds a transaction (whole numbers only: int() refuses anything else)."""
    value = "" if tenant_id is None else str(int(tenant_id))
    return f"SELECT set_config('app.tenant_id', '{value}', true)"

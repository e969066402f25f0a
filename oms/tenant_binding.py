"""Which tenant this thread (or task) works for: the value row-level security binds in each transaction.

Kept in Python, not on the database session (see oms/dbbackend/base.py); oms.rls is the interface to it.
"""

import re
from contextvars import ContextVar
from dataclasses import dataclass

_TOKEN_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class TokenShop:
    """The shop of the API token with this SHA-256, not yet known here: the database finds it in the statement that
    binds, so the token's shop and the token's row are one round trip (oms/api.py)."""

    token_hash: str

    def __post_init__(self):
        if not _TOKEN_HASH.fullmatch(self.token_hash):
            raise ValueError("A token hash is 64 lowercase hexadecimal digits.")


_current: ContextVar[int | TokenShop | None] = ContextVar("tenant_binding", default=None)


def current() -> int | TokenShop | None:
    return _current.get()


def set_current(tenant_id: int | None) -> None:
    _current.set(int(tenant_id) if tenant_id else None)


def set_token_shop(token_hash: str) -> None:
    _current.set(TokenShop(token_hash))


def binding_sql(tenant: int | TokenShop | None) -> str:
    """The statement that binds a transaction: a whole number (int() refuses anything else), or the shop of a token
    (a checked hexadecimal digest; an unknown or revoked token binds no shop, so the policies admit nothing)."""
    if isinstance(tenant, TokenShop):
        # oms_token_tenant is declared in oms/system.py (which imports this module, through oms.rls)
        return f"SELECT set_config('app.tenant_id', COALESCE(oms_token_tenant('{tenant.token_hash}')::text, ''), true)"
    value = "" if tenant is None else str(int(tenant))
    return f"SELECT set_config('app.tenant_id', '{value}', true)"

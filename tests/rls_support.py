"""The suite connects as the application role with row-level security forced, as production does.

Test data is built inside the tenant it belongs to: `within_tenant` wraps a helper whose first argument (or
`tenant=`) is a tenant or a tenant-owned object, binding that tenant for the call and restoring the binding after.
"""

import functools

from oms import rls


def tenant_id_of(owner) -> int:
    return owner.tenant_id if hasattr(owner, "tenant_id") else owner.pk


def within_tenant(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        owner = kwargs.get("tenant") or (args[0] if args else None)
        if owner is None:
            return func(*args, **kwargs)
        with rls.tenant_context(tenant_id_of(owner)):
            return func(*args, **kwargs)

    return wrapper

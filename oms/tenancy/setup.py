"""A tenant's life as seen by the apps above the core, which register here (in their `AppConfig.ready()`):

- initializers give a new tenant its defaults (status catalogue, templates, ...);
- finalizers remove what a deleted tenant leaves outside its tenant-owned tables (orders' number sequence),
  inside the deletion's transaction.
"""

from collections.abc import Callable

_initializers: list[Callable] = []
_finalizers: list[Callable] = []


def register_tenant_initializer(initializer: Callable) -> None:
    if initializer not in _initializers:
        _initializers.append(initializer)


def initialize_tenant(tenant) -> None:
    for initializer in _initializers:
        initializer(tenant=tenant)


def register_tenant_finalizer(finalizer: Callable) -> None:
    if finalizer not in _finalizers:
        _finalizers.append(finalizer)


def finalize_tenant(tenant) -> None:
    """Highest app first: what was set up last is taken down first."""
    for finalizer in reversed(_finalizers):
        finalizer(tenant=tenant)

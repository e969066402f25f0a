"""Higher apps give a new tenant its defaults (status catalogue, templates, ...) by registering here."""

from collections.abc import Callable

_initializers: list[Callable] = []


def register_tenant_initializer(initializer: Callable) -> None:
    if initializer not in _initializers:
        _initializers.append(initializer)


def initialize_tenant(tenant) -> None:
    for initializer in _initializers:
        initializer(tenant=tenant)

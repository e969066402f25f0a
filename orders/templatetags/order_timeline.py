from django import template

register = template.Library()


def _value(value) -> str:
    if isinstance(value, list) and all(isinstance(item, list) and len(item) == 2 for item in value):
        return ", ".join(f"{sku} × {quantity}" for sku, quantity in value)
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0] or '—'} → {value[1] or '—'}"
    return str(value)


@register.filter
def describe_changes(changes: dict) -> str:
    """One readable line for a timeline entry's changes: `lines: A × 1, B × 2; address: old → new`."""
    if not isinstance(changes, dict):
        return ""
    return "; ".join(f"{key.replace('_', ' ')}: {_value(value)}" for key, value in changes.items())

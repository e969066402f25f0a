"""Template filters over `orders.words`: internal codes in the shop's words."""

from django import template

from ..words import Words

register = template.Library()


@register.filter
def event_label(kind) -> str:
    """`order.status_changed` → "Order status changed"."""
    return Words.event(kind)


@register.filter
def fact_label(name) -> str:
    return Words.fact(name)


@register.filter
def group_label(code) -> str:
    return Words.group(code)

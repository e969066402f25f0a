"""Panels that higher apps add to the order page (custody chain, tasks, tracking link) without orders importing them.

A panel is a URL taking the order's pk that answers an HTML fragment; the order page loads it with htmx.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse


@dataclass(frozen=True)
class OrderPanel:
    title: str
    url_name: str
    roles: tuple[str, ...]


_panels: list[OrderPanel] = []


def register_order_panel(*, title: str, url_name: str, roles) -> None:
    panel = OrderPanel(title=title, url_name=url_name, roles=tuple(roles))
    if panel not in _panels:
        _panels.append(panel)


def panels_for(*, order, role) -> list[dict]:
    return [{"title": p.title, "url": reverse(p.url_name, args=[order.pk])} for p in _panels if role in p.roles]


# The customer's public page of an order (API.md `tracking_url`): the app that serves it registers how to link it.
_public_link = None


def register_public_link(link) -> None:
    """`link(order) -> absolute URL`; one app owns the customer's page."""
    global _public_link
    _public_link = link


def public_link(order) -> str | None:
    return _public_link(order) if _public_link else None


# What the goods the customer sent back for their money were sold for (shipments' returns): the order page shows it
# apart, so an order whose goods came back does not read as owing them, paid back or never paid.
_returned_value = None


def register_returned_value(value) -> None:
    """`value(order) -> Decimal`; one app owns customer returns."""
    global _returned_value
    _returned_value = value


def returned_value(order) -> Decimal:
    return _returned_value(order) if _returned_value else Decimal("0.00")

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


# What was refunded for goods the customer sent back (shipments' returns): the order page shows it apart, so an
# order whose returned goods were paid back does not read as owing them.
_returned_refunds = None


def register_returned_refunds(total) -> None:
    """`total(order) -> Decimal`; one app owns customer returns."""
    global _returned_refunds
    _returned_refunds = total


def returned_refunds(order) -> Decimal:
    return _returned_refunds(order) if _returned_refunds else Decimal("0.00")

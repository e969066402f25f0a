"""Marks that higher apps put on orders (notifications: "overdue") without orders importing them.

A mark is a boolean condition on an order row, usually an `Exists` over the higher app's own table correlated
with `OuterRef("pk")`. The order list offers a filter for each mark and shows a badge where one holds; so does the
order page. Register in `AppConfig.ready()`, as with `register_order_panel`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Expression, QuerySet


@dataclass(frozen=True)
class OrderMark:
    name: str  # the list filter's parameter, e.g. "overdue"
    badge: str  # the badge's text
    filter_label: str  # the list filter's label, e.g. "Overdue only"
    condition: Callable[[], Expression]  # built per query: a boolean expression over the order row

    @property
    def annotation(self) -> str:
        return f"mark_{self.name}"


_marks: list[OrderMark] = []


def register_order_mark(*, name: str, badge: str, filter_label: str, condition: Callable[[], Expression]) -> None:
    if all(mark.name != name for mark in _marks):
        _marks.append(OrderMark(name=name, badge=badge, filter_label=filter_label, condition=condition))


def registered() -> list[OrderMark]:
    return list(_marks)


def filter_marked(queryset: QuerySet, filters: dict) -> QuerySet:
    """Keep the orders carrying every mark whose filter is on."""
    for mark in _marks:
        if filters.get(mark.name):
            queryset = queryset.filter(mark.condition())
    return queryset


def with_marks(queryset: QuerySet) -> QuerySet:
    """The same rows, each telling whether it carries each mark (in the same query)."""
    return queryset.annotate(**{mark.annotation: mark.condition() for mark in _marks})


def marks_of(order) -> list[OrderMark]:
    """The marks an order fetched through `with_marks` carries, for its badges."""
    return [mark for mark in _marks if getattr(order, mark.annotation, False)]

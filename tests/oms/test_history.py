"""Model history: the manager class is built once per model, and the manager still answers per instance."""

import pytest

from orders.models import Order, OrderLine
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_the_history_manager_class_is_built_once_per_model():
    assert type(Order.history) is type(Order.history)
    assert type(OrderLine.history) is type(OrderLine.history)
    assert type(Order.history) is not type(OrderLine.history)


def test_the_history_manager_still_answers_for_one_row_or_the_model(tenant):
    first = place_order(tenant, [(stocked_product(tenant), 1)])
    second = place_order(tenant, [(stocked_product(tenant, sku="OTHER"), 1)])
    assert {row.id for row in first.history.all()} == {first.pk}
    assert first.history.first().instance.pk == first.pk
    assert {row.id for row in Order.history.all()} == {first.pk, second.pk}
    assert [record.history_type for record in second.history.all()] == ["+"]

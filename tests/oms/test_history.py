"""Model history: the manager class is built once per model, and the manager still answers per instance."""

import pytest

from orders.models import Order, OrderLine
from orders.services import reservations
from tests.orders.helpers import SYSTEM, place_order, stocked_product

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


def test_a_reservation_moves_the_time_of_change_and_adds_no_history_row_that_differs_in_nothing(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    before = order.updated_at
    rows = order.history.count()
    reservations.reserve_order(order=order, actor=SYSTEM)
    order.refresh_from_db()
    assert order.updated_at > before and order.lines.get().reserved == 1
    assert order.history.count() == rows


def test_history_rows_are_appended_whole_with_who_changed_what(tenant, client_for):
    from oms.models import Role
    from orders.models import Customer

    order = place_order(tenant, [(stocked_product(tenant), 1)], customer_phone="+7 900 111-22-33", tags=["VIP"])
    client = client_for(Role.MANAGER)
    manager = client.get("/orders/").wsgi_request.user
    created = order.history.get()
    assert (created.history_type, created.number, created.total, created.tags, created.status_id) == (
        "+",
        order.number,
        order.total,
        ["VIP"],
        order.status_id,
    )
    assert created.history_date is not None and created.history_user_id is None
    customer = Customer.objects.get(pk=order.customer_id)
    assert customer.history.get().phone == "+7 900 111-22-33"
    customer.name = "Renamed"
    customer._history_user = manager
    customer.save()
    renamed = customer.history.order_by("-history_id").first()
    assert (renamed.history_type, renamed.name, renamed.history_user_id) == ("~", "Renamed", manager.pk)

import threading

import pytest
from django.db import connections

from oms import rls
from orders import selectors
from orders.errors import NothingToSplit
from orders.models import Order, OrderLine
from orders.services import families, reservations

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_split_moves_unreserved_lines_and_divides_a_partial_line(tenant):
    full = stocked_product(tenant, on_hand=5)
    partial = stocked_product(tenant, on_hand=2)
    absent = stocked_product(tenant, on_hand=0)
    order = place_order(
        tenant, [(full, 1), (partial, 5), (absent, 3)], payment_method="card", delivery_address="1 Road"
    )
    reservations.reserve_order(order=order, actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    parent_lines = {ln.product.sku: (ln.quantity, ln.reserved) for ln in order.lines.select_related("product")}
    child_lines = {ln.product.sku: (ln.quantity, ln.reserved) for ln in child.lines.select_related("product")}
    assert parent_lines == {full.sku: (1, 1), partial.sku: (2, 2)}
    assert child_lines == {partial.sku: (3, 0), absent.sku: (3, 0)}
    assert (child.parent_id, child.root_id, child.number) == (order.pk, order.pk, f"{order.number}-2")
    assert child.status.code == "awaiting-stock"
    assert (child.customer_id, child.payment_method, child.delivery_address) == (order.customer_id, "card", "1 Road")
    order.refresh_from_db()
    assert order.total == 30 and child.total == 60


def test_nothing_to_split_when_everything_is_reserved(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=5), 2)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    with pytest.raises(NothingToSplit):
        families.split_unavailable(order=order, actor=SYSTEM)


def test_grandchild_numbers_continue_the_family(tenant):
    product = stocked_product(tenant, on_hand=1)
    other = stocked_product(tenant, on_hand=3)
    order = place_order(tenant, [(product, 3), (other, 1)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    child = families.split_unavailable(order=order, actor=SYSTEM)
    copy = families.copy_order(order=child, actor=SYSTEM)
    assert copy.number == f"{order.number}-3" and copy.root_id == order.pk and copy.parent_id == child.pk


def test_a_root_without_children_is_its_own_family_without_a_query(tenant, django_assert_num_queries):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    lone = Order.objects.get(pk=order.pk)
    with django_assert_num_queries(0):
        assert selectors.family(order=lone) == [lone]
    child = families.copy_order(order=order, actor=SYSTEM)
    for member in (Order.objects.get(pk=order.pk), child):  # the root's counter and the child's root say "family"
        assert [o.pk for o in selectors.family(order=member)] == [order.pk, child.pk]


def test_copy_all_or_chosen_lines_leaves_the_parent_unchanged(tenant):
    a, b = stocked_product(tenant), stocked_product(tenant)
    order = place_order(tenant, [(a, 1), (b, 2)])
    whole = families.copy_order(order=order, actor=SYSTEM)
    line_b = order.lines.get(product=b)
    part = families.copy_order(order=order, actor=SYSTEM, line_ids=[line_b.pk])
    assert whole.lines.count() == 2 and whole.status.code == "new"
    assert [(ln.product_id, ln.quantity) for ln in part.lines.all()] == [(b.pk, 2)]
    assert order.lines.count() == 2 and part.parent_id == order.pk


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_splits_split_once(tenant):
    for _ in range(3):
        product = stocked_product(tenant, on_hand=1)
        order = place_order(tenant, [(product, 4)])
        reservations.reserve_order(order=order, actor=SYSTEM)
        barrier, outcomes = threading.Barrier(2), []

        def click():
            try:
                rls.bind(tenant.pk)
                barrier.wait()
                outcomes.append(families.split_unavailable(order=Order.objects.get(pk=order.pk), actor=SYSTEM).pk)
            except NothingToSplit:
                outcomes.append("nothing")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=click) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert sorted(map(str, outcomes))[-1] == "nothing" and len(outcomes) == 2
        assert Order.objects.filter(parent=order).count() == 1
        assert sum(OrderLine.objects.filter(order__root_id=order.pk).values_list("quantity", flat=True)) == 4


def test_a_cancelled_order_cannot_be_split(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=1), 2)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    move(order, "cancelled")
    with pytest.raises(NothingToSplit):
        families.split_unavailable(order=order, actor=SYSTEM)

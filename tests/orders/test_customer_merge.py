"""Merging customers: `merged_into` never forms a loop and every customer resolves to a live one."""

import itertools
import threading

import pytest
from django.db import connections, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms import rls
from orders.errors import InvalidMerge
from orders.models import Customer, Order
from orders.services.customers import final_customer, merge_customers

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db

_phones = itertools.count(1)


def customers_with_an_order(tenant, count):
    """Customers made the way intake makes them, each with one order (a new phone each time)."""
    product = stocked_product(tenant, on_hand=0)
    orders = [
        place_order(tenant, [(product, 1)], customer_name=f"C{i}", customer_phone=f"+7 900 {next(_phones):07d}")
        for i in range(count)
    ]
    return [order.customer for order in orders], orders


def live_customer_of(customer_id, tenant_id):
    """Follow `merged_into` in the database, failing on a loop."""
    seen = []
    current = Customer.objects.get(pk=customer_id, tenant_id=tenant_id)
    while current.merged_into_id is not None:
        assert current.pk not in seen, f"merged_into loops: {seen + [current.pk]}"
        seen.append(current.pk)
        current = Customer.objects.get(pk=current.merged_into_id)
    return current


def test_merging_moves_orders_and_leaves_a_pointer(tenant):
    (keep, duplicate), _ = customers_with_an_order(tenant, 2)
    survivor = merge_customers(keep=keep, duplicate=duplicate)
    assert survivor.pk == keep.pk
    assert Order.objects.filter(customer=keep).count() == 2
    assert Customer.objects.get(pk=duplicate.pk).merged_into_id == keep.pk


def test_a_customer_cannot_be_merged_into_itself(tenant):
    (customer,), _ = customers_with_an_order(tenant, 1)
    with pytest.raises(InvalidMerge, match="cannot be merged into itself"):
        merge_customers(keep=customer, duplicate=customer)
    assert Customer.objects.get(pk=customer.pk).merged_into_id is None


def test_merging_back_the_other_way_is_refused(tenant):
    (a, b), _ = customers_with_an_order(tenant, 2)
    merge_customers(keep=b, duplicate=a)
    with pytest.raises(InvalidMerge, match="already one customer"):
        merge_customers(keep=a, duplicate=b)
    assert Customer.objects.get(pk=b.pk).merged_into_id is None
    assert Customer.objects.get(pk=a.pk).merged_into_id == b.pk


def test_a_merged_away_customer_stands_for_its_survivor_and_chains_are_flattened(tenant):
    (a, b, c, d), orders = customers_with_an_order(tenant, 4)
    merge_customers(keep=b, duplicate=a)  # a → b
    merge_customers(keep=c, duplicate=b)  # b → c, and a is repointed to c
    survivor = merge_customers(keep=a, duplicate=d)  # "into a" means into c, which a now is
    assert survivor.pk == c.pk
    assert dict(Customer.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk]).values_list("pk", "merged_into_id")) == {
        a.pk: c.pk,
        b.pk: c.pk,
        c.pk: None,
        d.pk: c.pk,
    }
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("customer_id", flat=True)) == {c.pk}


def test_customers_of_another_shop_are_refused(tenant, other_tenant):
    (ours,), _ = customers_with_an_order(tenant, 1)
    (theirs,), _ = customers_with_an_order(other_tenant, 1)
    with pytest.raises(InvalidMerge, match="same shop"):
        merge_customers(keep=ours, duplicate=theirs)


# --- any sequence of merges ----------------------------------------------------------------------------------

CUSTOMERS = 5
merge_step = st.tuples(st.integers(0, CUSTOMERS - 1), st.integers(0, CUSTOMERS - 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(merge_step, min_size=1, max_size=12))
def test_no_sequence_of_merges_forms_a_loop_and_everyone_resolves_to_a_live_customer(tenant, steps):
    customers, orders = customers_with_an_order(tenant, CUSTOMERS)
    ids = [c.pk for c in customers]
    group_of = list(range(CUSTOMERS))  # the model: which survivor (index) each customer has become

    for keep, duplicate in steps:
        same = group_of[keep] == group_of[duplicate]
        try:
            survivor = merge_customers(keep=customers[keep], duplicate=customers[duplicate])
        except InvalidMerge:
            assert same, "refused a merge of two different customers"
        else:
            assert not same, "merged a customer into itself"
            assert survivor.pk == ids[group_of[keep]]
            absorbed = group_of[duplicate]
            group_of = [group_of[keep] if g == absorbed else g for g in group_of]

        rows = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "merged_into_id"))
        for index, pk in enumerate(ids):
            live = live_customer_of(pk, tenant.pk)
            assert live.pk == ids[group_of[index]]
            assert rows[pk] in (None, live.pk)  # a merged customer points straight at a live one
            assert final_customer(customers[index]).pk == live.pk
        owners = dict(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "customer_id"))
        assert all(rows[owners[o.pk]] is None for o in orders)  # orders sit on live customers only
        assert [owners[o.pk] for o in orders] == [ids[g] for g in group_of]


# --- two merges at once --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_crossing_merges_at_the_same_time_cannot_form_a_loop(tenant):
    (a, b), _ = customers_with_an_order(tenant, 2)
    first_merged, let_first_commit = threading.Event(), threading.Event()
    outcomes = {}

    def merge_b_into_a_and_hold():
        try:
            rls.bind(tenant.pk)  # each thread's connection is bound to the shop, as a request's is
            with transaction.atomic():
                merge_customers(keep=a, duplicate=b)
                first_merged.set()
                let_first_commit.wait(5)
            outcomes["first"] = "merged"
        finally:
            connections.close_all()

    def merge_a_into_b():
        try:
            rls.bind(tenant.pk)
            first_merged.wait(5)
            merge_customers(keep=b, duplicate=a)
            outcomes["second"] = "merged"
        except InvalidMerge as exc:
            outcomes["second"] = exc.message
        finally:
            connections.close_all()

    first, second = threading.Thread(target=merge_b_into_a_and_hold), threading.Thread(target=merge_a_into_b)
    first.start()
    second.start()
    first_merged.wait(5)
    second.join(0.5)  # it must wait for the first merge's locks rather than read a stale picture
    let_first_commit.set()
    first.join(10)
    second.join(10)
    assert outcomes["first"] == "merged"
    assert "already one customer" in outcomes["second"]
    assert live_customer_of(a.pk, tenant.pk).pk == live_customer_of(b.pk, tenant.pk).pk == a.pk


# --- the merge form ------------------------------------------------------------------------------------------


def test_merge_form_refuses_merging_back_and_itself_with_a_message(tenant, client_for):
    (a, b), _ = customers_with_an_order(tenant, 2)
    manager = client_for()
    merged = manager.post(reverse("orders:customer_merge", args=[b.pk]), {"duplicate": a.pk}, follow=True)
    assert merged.redirect_chain[-1][0] == reverse("orders:customer", args=[b.pk])
    assert f"Customer #{a.pk} (C0) merged into C1" in merged.content.decode()

    back = manager.post(reverse("orders:customer_merge", args=[a.pk]), {"duplicate": b.pk}, follow=True)
    assert back.status_code == 200
    assert "already one customer" in back.content.decode()
    itself = manager.post(reverse("orders:customer_merge", args=[b.pk]), {"duplicate": b.pk}, follow=True)
    assert "cannot be merged into itself" in itself.content.decode()
    assert Customer.objects.get(pk=b.pk).merged_into_id is None
    assert Customer.objects.get(pk=a.pk).merged_into_id == b.pk


def test_merge_form_into_a_merged_away_customer_lands_on_the_survivor(tenant, client_for):
    (a, b, c), _ = customers_with_an_order(tenant, 3)
    manager = client_for()
    manager.post(reverse("orders:customer_merge", args=[b.pk]), {"duplicate": a.pk})
    response = manager.post(reverse("orders:customer_merge", args=[a.pk]), {"duplicate": c.pk})
    assert response["Location"] == reverse("orders:customer", args=[b.pk])
    assert Customer.objects.get(pk=c.pk).merged_into_id == b.pk
    assert manager.get(reverse("orders:customer", args=[a.pk]))["Location"] == reverse("orders:customer", args=[b.pk])


@pytest.mark.parametrize("duplicate", ["", "abc", "999999999"])
def test_merge_form_with_no_such_customer_is_404(tenant, client_for, duplicate):
    (a,), _ = customers_with_an_order(tenant, 1)
    response = client_for().post(reverse("orders:customer_merge", args=[a.pk]), {"duplicate": duplicate})
    assert response.status_code == 404

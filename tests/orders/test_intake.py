import pytest
from django.db import IntegrityError, transaction

from oms.actors import Actor
from oms.models import Role
from orders.models import Customer, CustomerContact, Order, OrderLine
from orders.services import intake
from tests.concurrency import run_together
from tests.factories import make_member

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_round_robin_shares_new_orders_fairly_among_active_managers(tenant):
    tenant.round_robin_assignment = True
    tenant.save()
    managers = [make_member(tenant, Role.MANAGER) for _ in range(3)]
    inactive = make_member(tenant, Role.MANAGER)
    inactive.memberships.update(is_active=False)
    product = stocked_product(tenant)
    for _ in range(9):
        place_order(tenant, [(product, 1)])
    counts = {m.pk: Order.objects.filter(manager=m).count() for m in managers}
    assert list(counts.values()) == [3, 3, 3]
    assert not Order.objects.filter(manager=inactive).exists()
    first_three = list(Order.objects.order_by("pk").values_list("manager_id", flat=True)[:3])
    assert sorted(first_three) == sorted(counts)


@pytest.mark.django_db(transaction=True)
def test_orders_taken_side_by_side_still_go_one_to_each_manager(tenant):
    tenant.round_robin_assignment = True
    tenant.save()
    managers = [make_member(tenant, Role.MANAGER) for _ in range(3)]
    product = stocked_product(tenant, on_hand=100)
    run_together(lambda _: place_order(tenant, [(product, 1)]), range(6), tenant=tenant)
    assert sorted(Order.objects.values_list("manager_id", flat=True)) == sorted(m.pk for m in managers * 2)


def test_round_robin_with_no_active_manager_assigns_nobody(tenant):
    tenant.round_robin_assignment = True
    tenant.save()
    make_member(tenant, Role.MANAGER).memberships.update(is_active=False)
    make_member(tenant, Role.PACKER)
    assert place_order(tenant, [(stocked_product(tenant), 1)]).manager_id is None


def test_round_robin_off_leaves_orders_unassigned(tenant):
    make_member(tenant, Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    assert order.manager_id is None


def test_a_manager_taking_a_phone_order_gets_it(tenant):
    manager = make_member(tenant, Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant), 1)], actor=Actor(user=manager, role=Role.MANAGER))
    assert order.manager_id == manager.pk


def test_order_numbers_follow_a_per_tenant_sequence(tenant, other_tenant):
    a1 = place_order(tenant, [(stocked_product(tenant), 1)])
    a2 = place_order(tenant, [(stocked_product(tenant), 1)])
    b1 = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    assert int(a2.number) == int(a1.number) + 1
    assert b1.number == "1001"


def test_a_clash_of_order_numbers_is_not_reported_as_a_duplicate_external_id(tenant, monkeypatch):
    """Only the external-id constraint means "duplicate external id"; any other violation is the bug it is."""
    first = place_order(tenant, [(stocked_product(tenant), 1)])
    keys = intake.next_order_keys
    monkeypatch.setattr(intake, "next_order_keys", lambda **taken: keys(**taken)._replace(number=int(first.number)))
    with pytest.raises(IntegrityError) as raised:
        place_order(tenant, [(stocked_product(tenant), 1)], external_id="shop-77")
    assert "order_unique_number" in str(raised.value)


def test_an_order_that_breaks_a_rule_at_its_commit_leaves_nothing_behind(tenant, monkeypatch):
    """Without an external id nobody waits for the order's INSERT: it goes with the rows after it. A rule it breaks
    still fails the call, and none of its rows (a new customer's, its lines, its history) stays."""
    first = place_order(tenant, [(stocked_product(tenant), 1)])
    keys = intake.next_order_keys
    monkeypatch.setattr(intake, "next_order_keys", lambda **taken: keys(**taken)._replace(number=int(first.number)))
    product = stocked_product(tenant)
    counts = lambda: (Customer.objects.count(), OrderLine.objects.count(), Order.history.count())  # noqa: E731
    before = counts()
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        place_order(tenant, [(product, 1)], customer_name="Nobody Yet", customer_phone="+1 555 000 0001")
    assert "order_unique_number" in str(raised.value)
    assert counts() == before
    assert not CustomerContact.objects.filter(normalized="15550000001").exists()

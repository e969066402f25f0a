"""A small, hand-computed order history for the report tests.

Customers and their order families (all in 2025, UTC; default revenue group `complete`):
- Ann: A1 web Jan 10, delivered 100, with split-off child A1-2 (Jan 12, delivered 50)  → Jan purchase, 150
       A2 marketplace Mar 5, delivered 80, with copy A2-2 (Mar 20, delivered 20)     → Mar purchase, 100
- Bob: B1 web Jan 20, delivered 200                                                  → Jan purchase, 200
       B2 web Feb 3, cancelled 999 (cancelled from `confirmed`)                      → nothing
- Cat: C1 web Feb 14, delivered 60                                                   → Feb purchase, 60
       C2 web Mar 1, in transit 40 (overdue)                                         → nothing by default
- Dan: D1 phone Jan 5, cancelled 50, with split-off child D1-2 (Jan 7, delivered 30) → Jan purchase, 30
Cohorts by month: Jan = Ann, Bob, Dan (3); Feb = Cat (1) — Bob buys once, only Ann buys again (month 2).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.services import refresh_summaries
from notifications.models import OrderDeadline
from oms.models import Event, Role
from orders.models import ActivityKind, Customer, Order, OrderActivity, OrderStatus
from tests.factories import make_member
from tests.rls_support import within_tenant


def at(month, day, hour=9, minute=0):
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@within_tenant
def make_order(tenant, customer, code, total, created, *, parent=None, channel="web", manager=None, **fields):
    status = OrderStatus.objects.get(tenant=tenant, code=code)
    root = parent.root if parent is not None else None
    number = f"{parent.number}-{parent.children.count() + 2}" if parent else f"{Order.objects.count() + 1000}"
    order = Order.objects.create(
        tenant=tenant,
        number=number,
        customer=customer,
        status=status,
        group=status.group,
        total=Decimal(total),
        created_at=created,
        updated_at=created,
        status_changed_at=created,
        channel=channel,
        parent=parent,
        root=root,
        manager=manager,
        **fields,
    )
    if root is None:
        Order.objects.filter(pk=order.pk).update(root=order)
        order.root_id = order.pk
    kind = ActivityKind.CREATED if parent is None else ActivityKind.SPLIT_FROM
    OrderActivity.objects.create(
        tenant=tenant, order=order, kind=kind, at=created, changes={"parent": parent.number} if parent else {}
    )
    return order


@within_tenant
def change(order, moves):
    """`moves`: [(at, from_code, to_code)] written as the timeline writes status changes."""
    groups = dict(OrderStatus.objects.filter(tenant=order.tenant).values_list("code", "group"))
    for when, from_code, to_code in moves:
        OrderActivity.objects.create(
            tenant=order.tenant,
            order=order,
            kind=ActivityKind.STATUS,
            at=when,
            changes={"status": [from_code, to_code], "group": [groups[from_code], groups[to_code]]},
        )


@dataclass
class History:
    tenant: object
    orders: dict
    customers: dict
    managers: dict


@within_tenant
def build_history(tenant) -> History:
    m1 = make_member(tenant, Role.MANAGER, username=f"mia-{tenant.slug}")
    m2 = make_member(tenant, Role.MANAGER, username=f"max-{tenant.slug}")
    c = {name: Customer.objects.create(tenant=tenant, name=name) for name in ("Ann", "Bob", "Cat", "Dan")}
    o = {}
    o["A1"] = make_order(tenant, c["Ann"], "delivered", "100", at(1, 10), manager=m1)
    o["A1-2"] = make_order(tenant, c["Ann"], "delivered", "50", at(1, 12), parent=o["A1"], manager=m1)
    o["A2"] = make_order(tenant, c["Ann"], "delivered", "80", at(3, 5), channel="marketplace")
    o["A2-2"] = make_order(tenant, c["Ann"], "delivered", "20", at(3, 20), parent=o["A2"], channel="marketplace")
    OrderActivity.objects.filter(order=o["A2-2"]).update(kind=ActivityKind.COPIED)
    o["B1"] = make_order(tenant, c["Bob"], "delivered", "200", at(1, 20))
    o["B2"] = make_order(tenant, c["Bob"], "cancelled", "999", at(2, 3))
    o["C1"] = make_order(tenant, c["Cat"], "delivered", "60", at(2, 14))
    o["C2"] = make_order(tenant, c["Cat"], "in-transit", "40", at(3, 1), manager=m2)
    # C2 is overdue now: the time-limit sweep marked the deadline of its current status passed.
    OrderDeadline.objects.create(
        tenant=tenant, order=o["C2"], started_at=at(3, 1), due_at=at(3, 2), overdue_at=at(3, 2, 0, 1)
    )
    o["D1"] = make_order(tenant, c["Dan"], "cancelled", "50", at(1, 5), channel="phone")
    o["D1-2"] = make_order(tenant, c["Dan"], "delivered", "30", at(1, 7), parent=o["D1"], channel="phone")
    # Timelines: A1 walks the whole way; B2 is cancelled from `confirmed`.
    t0, t1 = at(1, 10), at(2, 3)
    change(
        o["A1"],
        [
            (t0 + timedelta(hours=1), "new", "confirmed"),
            (t0 + timedelta(hours=3), "confirmed", "assembling"),
            (t0 + timedelta(hours=4), "assembling", "packed"),
            (t0 + timedelta(hours=10), "packed", "handed-over"),
            (t0 + timedelta(hours=34), "handed-over", "delivered"),
        ],
    )
    change(
        o["B2"], [(t1 + timedelta(hours=3), "new", "confirmed"), (t1 + timedelta(hours=5), "confirmed", "cancelled")]
    )
    # SLA breaches: one with everything in the payload, two that fall back to the order's status / manager.
    Event.objects.create(
        tenant=tenant,
        kind="order.overdue",
        created_at=at(1, 10, 12),
        payload={"order_id": o["A1"].pk, "status": "confirmed", "manager_id": m1.pk},
    )
    Event.objects.create(tenant=tenant, kind="order.overdue", created_at=at(3, 2), payload={"order_id": o["C2"].pk})
    Event.objects.create(
        tenant=tenant, kind="order.overdue", created_at=at(3, 3), payload={"order_id": o["C2"].pk, "status": "packed"}
    )
    Event.objects.create(tenant=tenant, kind="order.status_changed", created_at=at(3, 3), payload={"order_id": 1})
    refresh_summaries(tenant=tenant, force=True)
    return History(tenant=tenant, orders=o, customers=c, managers={"m1": m1, "m2": m2})


@pytest.fixture
def history(tenant):
    return build_history(tenant)


@pytest.fixture
def foreign_history(other_tenant):
    """Another shop with a big purchase, breaches and timelines of its own: must never show up in shop A."""
    return build_foreign_history(other_tenant)


@within_tenant
def build_foreign_history(other_tenant):
    customer = Customer.objects.create(tenant=other_tenant, name="Zed")
    manager = make_member(other_tenant, Role.MANAGER, username="zoe-b")
    big = make_order(other_tenant, customer, "delivered", "5000", at(1, 15), manager=manager, channel="web")
    make_order(other_tenant, customer, "delivered", "7000", at(2, 15), channel="shop-b-only")
    lost = make_order(other_tenant, customer, "cancelled", "10", at(1, 16))
    change(big, [(at(1, 15, 10), "new", "confirmed"), (at(1, 16, 10), "confirmed", "assembling")])
    change(lost, [(at(1, 16, 11), "new", "cancelled")])
    Event.objects.create(
        tenant=other_tenant, kind="order.overdue", created_at=at(1, 20), payload={"order_id": big.pk, "status": "new"}
    )
    refresh_summaries(tenant=other_tenant, force=True)
    return big

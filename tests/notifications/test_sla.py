"""Time limits: deadlines follow status changes, the sweep finds overdue orders by index, alerts once per breach."""

import datetime
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert, OrderDeadline
from notifications.selectors import order_is_overdue
from notifications.services import sla
from notifications.tasks import sweep_time_limits
from oms import rls
from oms.models import Event, Role
from orders.models import Order, OrderStatus
from tests.factories import make_member

from .helpers import drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


def limit(tenant, code, minutes, **kw):
    return sla.save_time_limit(
        tenant=tenant, status=OrderStatus.objects.get(tenant=tenant, code=code), minutes=minutes, **kw
    )


def due_at(order):
    planned = sla.deadline_of(order=order)
    return planned.due_at if planned else None


def is_overdue(order) -> bool:
    """What the order list's "overdue" mark shows."""
    return Order.objects.filter(pk=order.pk).filter(order_is_overdue()).exists()


def new_order(tenant, **fields):
    order = place_order(tenant, [(stocked_product(tenant), 1)], **fields)
    drain()
    order.refresh_from_db()
    return order


def test_sweep_with_frozen_time_marks_overdue_once_and_alerts_the_manager(tenant):
    manager = make_member(tenant, Role.MANAGER)
    limit(tenant, "new", 120)
    with time_machine.travel(MONDAY_10, tick=False):
        order = new_order(tenant)
        Order.objects.filter(pk=order.pk).update(manager=manager)
        assert due_at(order) == MONDAY_10 + timedelta(hours=2)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1, minutes=59), tick=False):
        assert sweep_time_limits() == 0
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert sweep_time_limits() == 1
        assert sweep_time_limits() == 0  # once per breach
    order.refresh_from_db()
    assert is_overdue(order)
    alert = Alert.objects.get()
    assert alert.user == manager and alert.order == order
    overdue = Event.objects.get(kind="order.overdue")
    assert overdue.payload["order_id"] == order.pk


def test_unassigned_overdue_order_alerts_every_manager(tenant):
    managers = {make_member(tenant, Role.MANAGER).pk, make_member(tenant, Role.MANAGER).pk}
    make_member(tenant, Role.PACKER)
    limit(tenant, "new", 30)
    with time_machine.travel(MONDAY_10, tick=False):
        new_order(tenant)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        assert sla.sweep_overdue() == 1
    assert set(Alert.objects.values_list("user_id", flat=True)) == managers


def test_a_status_change_starts_a_new_deadline_and_a_new_breach(tenant):
    make_member(tenant, Role.MANAGER)
    limit(tenant, "new", 60)
    limit(tenant, "confirmed", 60)
    with time_machine.travel(MONDAY_10, tick=False):
        order = new_order(tenant)
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert sla.sweep_overdue() == 1
        order = move(order, "confirmed")
        drain()
        order.refresh_from_db()
        assert not is_overdue(order) and due_at(order) == MONDAY_10 + timedelta(hours=3)
    with time_machine.travel(MONDAY_10 + timedelta(hours=3, minutes=1), tick=False):
        assert sla.sweep_overdue() == 1
    assert Alert.objects.count() == 2


def test_a_status_without_a_limit_clears_the_deadline(tenant):
    limit(tenant, "new", 60)
    order = new_order(tenant)
    assert due_at(order) is not None
    move(order, "confirmed")
    drain()
    order.refresh_from_db()
    assert due_at(order) is None


def test_a_stale_deadline_is_corrected_not_reported(tenant):
    limit(tenant, "new", 60)
    with time_machine.travel(MONDAY_10, tick=False):
        order = new_order(tenant)
    limit(tenant, "new", 600)  # the admin relaxed the limit; re-planned...
    OrderDeadline.objects.filter(order_id=order.pk).update(due_at=MONDAY_10 + timedelta(hours=1))  # ...but missed
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert sla.sweep_overdue() == 0
    order.refresh_from_db()
    assert due_at(order) == MONDAY_10 + timedelta(hours=10) and not is_overdue(order)


def test_working_hours_only_skips_nights_and_weekends():
    friday_17 = datetime.datetime(2026, 3, 6, 17, 0, tzinfo=datetime.UTC)
    due = sla.add_working_minutes(friday_17, 120, starts=datetime.time(9), ends=datetime.time(18))
    assert due == datetime.datetime(2026, 3, 9, 10, 0, tzinfo=datetime.UTC)  # Monday 10:00
    saturday = datetime.datetime(2026, 3, 7, 12, 0, tzinfo=datetime.UTC)
    assert sla.add_working_minutes(saturday, 30, starts=datetime.time(9), ends=datetime.time(18)) == datetime.datetime(
        2026, 3, 9, 9, 30, tzinfo=datetime.UTC
    )


def test_changing_a_limit_replans_orders_already_in_the_status(tenant):
    with time_machine.travel(MONDAY_10, tick=False):
        order = new_order(tenant)
        assert due_at(order) is None
        limit(tenant, "new", 90)
    order.refresh_from_db()
    assert due_at(order) == MONDAY_10 + timedelta(minutes=90)
    limit(tenant, "new", 60, working_hours_only=True)
    order.refresh_from_db()
    assert due_at(order) == MONDAY_10 + timedelta(minutes=60)


def test_the_sweep_query_can_use_the_partial_index(tenant):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            OrderDeadline.objects.filter(overdue_at__isnull=True, due_at__lte=timezone.now())
            .order_by("due_at")
            .query.sql_with_params()
        )
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "orderdeadline_due" in plan


def test_working_hours_skip_holidays_too():
    friday_17 = datetime.datetime(2026, 3, 6, 17, 0, tzinfo=datetime.UTC)
    monday_off = frozenset({datetime.date(2026, 3, 9)})
    due = sla.add_working_minutes(friday_17, 120, starts=datetime.time(9), ends=datetime.time(18), holidays=monday_off)
    assert due == datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)  # Tuesday 10:00


def test_a_holiday_moves_waiting_orders_deadlines_and_removing_it_moves_them_back(tenant, other_tenant):
    friday_17 = datetime.datetime(2026, 3, 6, 17, 0, tzinfo=datetime.UTC)
    with time_machine.travel(friday_17, tick=False):
        order = new_order(tenant)
        limit(tenant, "new", 120, working_hours_only=True)
    order.refresh_from_db()
    monday_10 = datetime.datetime(2026, 3, 9, 10, 0, tzinfo=datetime.UTC)
    assert due_at(order) == monday_10
    with rls.tenant_context(other_tenant.pk):
        sla.add_holiday(tenant=other_tenant, day=datetime.date(2026, 3, 9), name="Not ours")
    order.refresh_from_db()
    assert due_at(order) == monday_10  # another shop's holiday changes nothing here
    holiday = sla.add_holiday(tenant=tenant, day=datetime.date(2026, 3, 9), name="Spring day")
    order.refresh_from_db()
    assert due_at(order) == monday_10 + timedelta(days=1)
    with time_machine.travel(monday_10 + timedelta(hours=2), tick=False):
        sweep_time_limits()  # a new status's deadline is counted with the holiday too, and nobody is overdue
    order.refresh_from_db()
    assert not is_overdue(order) and due_at(order) == monday_10 + timedelta(days=1)
    sla.remove_holiday(holiday=holiday)
    order.refresh_from_db()
    assert due_at(order) == monday_10


@pytest.mark.parametrize(
    ("day", "name", "message"),
    [
        (datetime.date(1999, 12, 31), "", "between 2000 and 2100"),
        (datetime.date(2026, 5, 1), "x" * 101, "at most 100"),
    ],
)
def test_a_bad_holiday_is_refused_and_nothing_is_written(tenant, day, name, message):
    from notifications.models import Holiday
    from oms.errors import DomainError

    with pytest.raises(DomainError, match=message):
        sla.add_holiday(tenant=tenant, day=day, name=name)
    assert not Holiday.objects.exists()


def test_the_same_day_twice_is_refused(tenant):
    from oms.errors import DomainError

    sla.add_holiday(tenant=tenant, day=datetime.date(2026, 5, 1), name="May Day")
    with pytest.raises(DomainError, match="already a holiday"):
        sla.add_holiday(tenant=tenant, day=datetime.date(2026, 5, 1))


def test_a_status_change_voids_the_overdue_mark_before_its_event_is_dispatched(tenant):
    limit(tenant, "new", 60)
    with time_machine.travel(MONDAY_10, tick=False):
        order = new_order(tenant)
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert sla.sweep_overdue() == 1
        assert is_overdue(order)
        move(order, "confirmed")  # orders writes nothing of ours; the mark belonged to the earlier status
        assert not is_overdue(order)
        assert sla.deadline_of(order=order).overdue_at is not None  # kept until our subscriber re-plans
        drain()
    planned = sla.deadline_of(order=order)
    assert (planned.overdue_at, planned.due_at) == (None, None)


def test_the_order_list_filters_and_badges_overdue_orders_from_the_deadlines(tenant, client_for):
    client = client_for(Role.MANAGER)
    limit(tenant, "new", 60)
    with time_machine.travel(MONDAY_10, tick=False):
        late, on_time = new_order(tenant), new_order(tenant)
    OrderDeadline.objects.filter(order_id=on_time.pk).update(due_at=MONDAY_10 + timedelta(days=1))
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert sla.sweep_overdue() == 1
    html = client.get("/orders/?overdue=on").content.decode()
    assert f"<strong>{late.number}</strong>" in html and f"<strong>{on_time.number}</strong>" not in html
    assert 'name="overdue"' in html and "Overdue only" in html
    assert html.count('<span class="badge bad">overdue</span>') == 1
    everything = client.get("/orders/").content.decode()
    assert f"<strong>{late.number}</strong>" in everything and f"<strong>{on_time.number}</strong>" in everything
    assert everything.count('<span class="badge bad">overdue</span>') == 1
    assert '<span class="badge bad">overdue</span>' in client.get(f"/orders/{late.pk}/").content.decode()
    assert '<span class="badge bad">overdue</span>' not in client.get(f"/orders/{on_time.pk}/").content.decode()


def test_a_limit_that_working_hours_cannot_hold_is_refused_and_never_stops_the_sweep(tenant):
    """365 days counted an hour a day is 33 years: no deadline can be placed. Saved while no order is in its status,
    it failed every order entering it and then the sweep of the whole shop (the plan of the previous status was due)."""
    from oms.errors import DomainError

    limit(tenant, "new", 60)
    with time_machine.travel(MONDAY_10, tick=False):
        order, other = new_order(tenant), new_order(tenant)
    with pytest.raises(DomainError):
        limit(
            tenant,
            "confirmed",
            60 * 24 * 365,
            working_hours_only=True,
            work_starts=datetime.time(9, 0),
            work_ends=datetime.time(10, 0),
        )
    with time_machine.travel(MONDAY_10 + timedelta(minutes=30), tick=False):
        move(order, "confirmed")
        drain()
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert sweep_time_limits() == 1
    assert is_overdue(other)


def test_a_working_hours_limit_longer_than_the_working_days_can_hold_is_refused_not_a_500(tenant, client_for):
    from notifications.models import TimeLimit

    order = new_order(tenant)
    status = OrderStatus.objects.get(tenant=tenant, code="new")
    # 365 days counted in a working day of one minute would end some 1,400 years from now.
    form = {"status": status.pk, "amount": 8760, "unit": "hours", "working_hours_only": "on"}
    response = client_for(Role.ADMIN).post(
        "/alerts/settings/time-limits/", {**form, "work_starts": "09:00", "work_ends": "09:01"}
    )
    assert response.status_code == 200 and "working hours" in response.content.decode()
    assert not TimeLimit.objects.exists() and due_at(order) is None


def test_a_holiday_that_leaves_a_working_hours_limit_no_room_is_refused(tenant, client_for):
    """With one working minute a day, the longest limit the planner places takes almost all of its horizon: one
    more day off made every deadline of the status fail (a 500 on the page, and on each order entering it)."""
    from notifications.models import Holiday

    starts, ends = datetime.time(9, 0), datetime.time(9, 1)
    with time_machine.travel(MONDAY_10, tick=False):
        longest = next(m for m in range(5300, 0, -1) if _places(m, starts, ends))  # the horizon is 20 years of days
        order = new_order(tenant)
        limit(tenant, "new", longest, working_hours_only=True, work_starts=starts, work_ends=ends)
        planned = due_at(order)
        answer = client_for(Role.ADMIN).post(reverse("notifications:holiday_add"), {"day": "2026-03-04"})
    assert answer.status_code == 200 and "no longer fits the working days" in answer.content.decode()
    assert not Holiday.objects.exists() and due_at(order) == planned


def _places(minutes, starts, ends) -> bool:
    try:
        sla.add_working_minutes(MONDAY_10, minutes, starts=starts, ends=ends)
    except ValueError:
        return False
    return True

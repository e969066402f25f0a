"""Overdue alerts respect attention: what one sweep finds is one alert per manager and status."""

import datetime
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine

from notifications.models import Alert
from notifications.services import sla
from oms.models import Role
from orders.models import Order, OrderStatus
from tests.factories import make_member

from .helpers import drain, move, place_order, stocked_product

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


def new_orders(tenant, count, **fields):
    orders = [place_order(tenant, [(stocked_product(tenant), 1)], **fields) for _ in range(count)]
    drain()
    return orders


def test_twelve_overdue_orders_of_one_manager_make_one_alert_linking_to_the_filtered_list(tenant, client_for):
    manager = make_member(tenant, Role.MANAGER)
    with time_machine.travel(MONDAY_10, tick=False):
        orders = new_orders(tenant, 12)
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(manager=manager)
    sla.save_time_limit(tenant=tenant, status=OrderStatus.objects.get(tenant=tenant, code="new"), minutes=30)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        assert sla.sweep_overdue() == 12
    alert = Alert.objects.get()
    assert alert.user == manager and alert.title == "12 orders overdue in New"
    assert "and 7 more" in alert.body and "'new'" not in alert.body
    query = parse_qs(urlparse(alert.url).query)
    assert query == {"status": ["new"], "overdue": ["on"], "manager": [str(manager.pk)]}


def test_the_grouped_link_opens_the_list_of_exactly_those_orders(tenant, client_for):
    manager, colleague = make_member(tenant, Role.MANAGER), make_member(tenant, Role.MANAGER)
    with time_machine.travel(MONDAY_10, tick=False):
        orders = new_orders(tenant, 3)
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(manager=manager)
        late_other = new_orders(tenant, 1)[0]  # the colleague's: not in this manager's list
        Order.objects.filter(pk=late_other.pk).update(manager=colleague)
    sla.save_time_limit(tenant=tenant, status=OrderStatus.objects.get(tenant=tenant, code="new"), minutes=30)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        sla.sweep_overdue()
    alert = Alert.objects.get(user=manager, order=None)
    page = client_for(Role.MANAGER).get(alert.url).content.decode()
    assert all(f">{o.number}<" in page for o in orders)
    assert f">{late_other.number}<" not in page


def test_groups_are_per_status_and_a_single_order_keeps_its_own_alert(tenant):
    manager = make_member(tenant, Role.MANAGER)
    with time_machine.travel(MONDAY_10, tick=False):
        news = new_orders(tenant, 2)
        confirmed = new_orders(tenant, 1)[0]
        move(confirmed, "confirmed")
    statuses = OrderStatus.objects.filter(tenant=tenant)
    sla.save_time_limit(tenant=tenant, status=statuses.get(code="new"), minutes=30)
    sla.save_time_limit(tenant=tenant, status=statuses.get(code="confirmed"), minutes=30)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        assert sla.sweep_overdue() == 3
        assert sla.sweep_overdue() == 0  # still once per breach
    titles = sorted(Alert.objects.filter(user=manager).values_list("title", flat=True))
    confirmed.refresh_from_db()
    assert titles == ["2 orders overdue in New", f"Order {confirmed.number} is overdue"]
    single = Alert.objects.get(user=manager, order=confirmed)
    assert single.url == f"/orders/{confirmed.pk}/" and "in Confirmed longer" in single.body
    assert len(news) == 2


def test_each_manager_reads_the_overdue_alert_in_their_own_language(tenant):
    from oms.services import set_language

    english, russian = make_member(tenant, Role.MANAGER), make_member(tenant, Role.MANAGER)
    set_language(user=russian, language="ru")
    with time_machine.travel(MONDAY_10, tick=False):
        orders = new_orders(tenant, 12)
        Order.objects.filter(pk__in=[o.pk for o in orders[:6]]).update(manager=english)
        Order.objects.filter(pk__in=[o.pk for o in orders[6:]]).update(manager=russian)
    sla.save_time_limit(tenant=tenant, status=OrderStatus.objects.get(tenant=tenant, code="new"), minutes=30)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        assert sla.sweep_overdue() == 12
    assert Alert.objects.get(user=english).title == "6 orders overdue in New"
    alert = Alert.objects.get(user=russian)
    assert alert.title == "6 заказов просрочены в статусе «New»"  # the status name is the shop's own word
    assert "и ещё 1" in alert.body

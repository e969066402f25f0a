import datetime

import pytest
import time_machine
from django.utils import timezone

from oms.models import Event
from shipments.errors import RouteRuleBroken
from shipments.models import Incident, IncidentKind, ShipmentSettings
from shipments.services import routes
from shipments.tasks import check_route_deadlines
from tests.orders.helpers import SYSTEM

from .helpers import courier_of, handed_to_courier

pytestmark = pytest.mark.django_db


def test_stops_need_departure_first(tenant):
    _, stop, _ = handed_to_courier(tenant)
    with pytest.raises(RouteRuleBroken, match="departed first"):
        routes.deliver(stop=stop, actor=SYSTEM, amount_collected="1")


def test_cash_on_delivery_needs_the_amount_collected(tenant):
    order, stop, _ = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken, match="amount collected"):
        routes.deliver(stop=stop, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken):
        routes.deliver(stop=stop, actor=SYSTEM, amount_collected="-5")
    stop = routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(order.total))
    assert stop.result == "delivered" and stop.amount_collected == order.total


def test_failure_needs_a_reason(tenant):
    _, stop, _ = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken, match="why"):
        routes.fail(stop=stop, actor=SYSTEM, reason="  ")
    assert routes.fail(stop=stop, actor=SYSTEM, reason="Wrong address").result == "failed"


def test_route_closes_only_when_every_order_is_resolved(tenant):
    courier = courier_of(tenant)
    _, first, _ = handed_to_courier(tenant, courier=courier, payment_status="paid")
    _, second, _ = handed_to_courier(tenant, courier=courier, payment_status="paid")
    route = first.route
    assert second.route == route
    with pytest.raises(RouteRuleBroken, match="never departed"):
        routes.close(route=route, actor=SYSTEM)
    routes.depart(route=route, actor=SYSTEM)
    routes.deliver(stop=first, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken, match="1 order"):
        routes.close(route=route, actor=SYSTEM)
    routes.fail(stop=second, actor=SYSTEM, reason="Customer refused")
    assert routes.close(route=route, actor=SYSTEM).closed_at is not None
    with pytest.raises(RouteRuleBroken):
        routes.deliver(stop=second, actor=SYSTEM)


def test_a_resolved_stop_cannot_be_resolved_again(tenant):
    _, stop, _ = handed_to_courier(tenant, payment_status="paid")
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken, match="already"):
        routes.fail(stop=stop, actor=SYSTEM, reason="x")


def _at(tenant, hour, minute=0, day=None):
    day = day or timezone.localdate()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def test_missed_departure_deadline_creates_one_incident(tenant):
    ShipmentSettings.objects.filter(tenant=tenant).update(departure_deadline=datetime.time(11, 0))
    day = datetime.date(2026, 3, 2)
    with time_machine.travel(_at(tenant, 9, 0, day), tick=False):
        _, stop, _ = handed_to_courier(tenant)
        assert check_route_deadlines() == 0
    with time_machine.travel(_at(tenant, 10, 59, day), tick=False):
        assert check_route_deadlines() == 0
    with time_machine.travel(_at(tenant, 11, 1, day), tick=False):
        assert check_route_deadlines() == 1
        assert check_route_deadlines() == 0  # safe to run again
    incident = Incident.objects.get(route=stop.route)
    assert incident.kind == IncidentKind.MISSED_DEPARTURE and incident.tenant == tenant
    from django.utils import translation

    with translation.override("ru"):  # each reader gets it in their language; webhooks keep the English message
        assert incident.text == "Не выехал по маршруту на 2 Мар (срок 11:00)."
    assert "has not departed" in incident.message
    event = Event.objects.get(tenant=tenant, kind="route.incident")
    assert event.payload["incident_id"] == incident.pk and event.payload["kind"] == "missed_departure"


def test_departed_route_raises_no_deadline_incident(tenant):
    day = datetime.date(2026, 3, 3)
    with time_machine.travel(_at(tenant, 9, 0, day), tick=False):
        _, stop, _ = handed_to_courier(tenant)
        routes.depart(route=stop.route, actor=SYSTEM)
    with time_machine.travel(_at(tenant, 12, 0, day), tick=False):
        assert check_route_deadlines() == 0


def test_route_left_open_at_end_of_day_creates_an_incident(tenant):
    ShipmentSettings.objects.filter(tenant=tenant).update(end_of_day=datetime.time(20, 0))
    day = datetime.date(2026, 3, 4)
    with time_machine.travel(_at(tenant, 9, 0, day), tick=False):
        _, stop, _ = handed_to_courier(tenant)
        routes.depart(route=stop.route, actor=SYSTEM)
    with time_machine.travel(_at(tenant, 19, 59, day), tick=False):
        assert check_route_deadlines() == 0
    with time_machine.travel(_at(tenant, 20, 5, day), tick=False):
        assert check_route_deadlines() == 1
    left_open = Incident.objects.get(route=stop.route)
    assert (
        left_open.kind == IncidentKind.LEFT_OPEN
        and left_open.text == "The route of 4 Mar is still open (1 unresolved)."
    )


def test_closed_route_raises_nothing(tenant):
    day = datetime.date(2026, 3, 5)
    with time_machine.travel(_at(tenant, 9, 0, day), tick=False):
        _, stop, _ = handed_to_courier(tenant, payment_status="paid")
        routes.depart(route=stop.route, actor=SYSTEM)
        routes.deliver(stop=stop, actor=SYSTEM)
        routes.close(route=stop.route, actor=SYSTEM)
    with time_machine.travel(_at(tenant, 23, 0, day), tick=False):
        assert check_route_deadlines() == 0


def test_cash_collected_on_delivery_is_the_orders_cod_payment(tenant):
    order, stop, _ = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(order.total))
    order.refresh_from_db()
    stop.refresh_from_db()
    assert (order.payment_status, order.due) == ("paid", 0)
    assert list(order.payments.values_list("method", "kind", "amount")) == [("cod", "payment", order.total)]
    assert stop.amount_due == order.total


def test_closing_a_route_reconciles_cash_due_against_collected(tenant):
    courier = courier_of(tenant)
    first, first_stop, _ = handed_to_courier(tenant, courier=courier)
    second, second_stop, _ = handed_to_courier(tenant, courier=courier, payment_status="paid")
    route = first_stop.route
    routes.depart(route=route, actor=SYSTEM)
    short = first.total - 1
    routes.deliver(stop=first_stop, actor=SYSTEM, amount_collected=str(short))
    routes.deliver(stop=second_stop, actor=SYSTEM)
    assert routes.cash_of(route) == (first.total, short)
    routes.close(route=route, actor=SYSTEM)
    incident = Incident.objects.get(route=route, kind=IncidentKind.CASH_MISMATCH)
    assert f"{first.total:.2f} due, {short:.2f} collected (-1.00)" in incident.message
    from django.utils import translation

    with translation.override("ru"):
        assert "собрано" in incident.text and "-1,00" in incident.text
    first.refresh_from_db()
    assert (first.payment_status, first.due) == ("partially_paid", 1)


def test_a_route_whose_cash_adds_up_closes_without_incident(tenant):
    order, stop, _ = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(order.total))
    routes.close(route=stop.route, actor=SYSTEM)
    assert not Incident.objects.filter(kind=IncidentKind.CASH_MISMATCH).exists()


def test_more_cash_than_is_due_is_refused_and_changes_nothing(tenant):
    from decimal import Decimal

    from orders.models import Order

    order, stop, _ = handed_to_courier(tenant)
    routes.depart(route=stop.route, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken, match="more than the .* due on delivery"):
        routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(order.total + Decimal("0.01")))
    stop.refresh_from_db()
    order = Order.objects.get(pk=order.pk)
    assert (stop.result, stop.amount_collected, order.paid) == ("", None, Decimal("0.00"))
    stop = routes.deliver(stop=stop, actor=SYSTEM, amount_collected=str(order.total))
    assert Order.objects.get(pk=order.pk).paid == order.total


def test_cash_for_an_order_with_nothing_due_is_refused(tenant):
    from orders.services import payments

    order, stop, _ = handed_to_courier(tenant)
    payments.record_payment(order=order, amount=order.total, method="card", actor=SYSTEM)
    routes.depart(route=stop.route, actor=SYSTEM)
    with pytest.raises(RouteRuleBroken, match="Nothing is due"):
        routes.deliver(stop=stop, actor=SYSTEM, amount_collected="5")
    assert routes.deliver(stop=stop, actor=SYSTEM).result == "delivered"

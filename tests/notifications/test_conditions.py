"""Every condition operator, on text, number and list fields, read from the event and its order."""

from decimal import Decimal

import pytest

from notifications.services.rules import compare, conditions_hold, validate
from oms.models import Event

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        ("any", "refused", "", True),
        ("any", None, "", True),
        ("eq", "refused", "REFUSED", True),
        ("eq", "refused", "returned", False),
        ("ne", "refused", "returned", True),
        ("ne", "refused", "refused", False),
        ("in", "web", "phone, web", True),
        ("in", "web", "phone, market", False),
        ("not_in", "web", "phone, market", True),
        ("not_in", "web", "web", False),
        ("contains", "pickup point", "pickup", True),
        ("contains", "courier", "pickup", False),
        ("not_contains", "courier", "pickup", True),
        ("not_contains", "pickup point", "pickup", False),
        ("gt", Decimal("100.00"), "99.99", True),
        ("gt", Decimal("100.00"), "100", False),
        ("gte", Decimal("100.00"), "100", True),
        ("gte", Decimal("99.99"), "100", False),
        ("lt", 3, "4", True),
        ("lt", 4, "4", False),
        ("lte", 4, "4", True),
        ("lte", 5, "4", False),
        ("eq", Decimal("10.0"), "10", True),
    ],
)
def test_operator(op, actual, expected, result):
    assert compare(op, actual, expected) is result


@pytest.mark.parametrize(
    ("op", "expected", "result"),
    [
        ("contains", "vip", True),
        ("contains", "bad", False),
        ("eq", "vip", True),
        ("not_contains", "bad", True),
        ("not_contains", "VIP", False),
        ("ne", "vip", False),
        ("in", "bad, vip", True),
        ("not_in", "bad, late", True),
        ("not_in", "bad, vip", False),
    ],
)
def test_operators_on_tag_lists(op, expected, result):
    assert compare(op, ["VIP", "wholesale"], expected) is result


def test_missing_value_only_satisfies_negative_operators():
    assert compare("eq", None, "x") is False
    assert compare("ne", None, "x") is True
    assert compare("gt", None, "1") is False


def test_conditions_read_the_event_and_the_order_and_all_must_hold(tenant):
    product = stocked_product(tenant, price="60.00")
    order = place_order(
        tenant, [(product, 2)], channel="market", payment_method="card", delivery_method="courier", tags=["gift"]
    )
    order.customer.tags = ["VIP"]
    order.customer.save()
    event = Event(
        tenant=tenant, kind="order.status_changed", payload={"order_id": order.pk, "from": "new", "to": "refused"}
    )
    conditions = [
        {"field": "to_status", "op": "eq", "value": "refused"},
        {"field": "from_status", "op": "any", "value": ""},
        {"field": "status", "op": "eq", "value": "new"},
        {"field": "group", "op": "in", "value": "new, approval"},
        {"field": "channel", "op": "eq", "value": "market"},
        {"field": "payment_status", "op": "eq", "value": "unpaid"},
        {"field": "payment_method", "op": "eq", "value": "card"},
        {"field": "delivery_method", "op": "contains", "value": "cour"},
        {"field": "total", "op": "gte", "value": "120"},
        {"field": "order_tags", "op": "contains", "value": "gift"},
        {"field": "customer_tags", "op": "contains", "value": "vip"},
        {"field": "customer_orders", "op": "eq", "value": "1"},
    ]
    holds, notes = conditions_hold(conditions, event, order)
    assert holds, notes
    holds, _ = conditions_hold([*conditions, {"field": "total", "op": "gt", "value": "120"}], event, order)
    assert not holds


def test_received_skus_are_a_condition_of_stock_events(tenant):
    event = Event(tenant=tenant, kind="stock.received", payload={"lines": [{"sku": "A-1"}, {"sku": "B-2"}]})
    assert conditions_hold([{"field": "skus", "op": "contains", "value": "b-2"}], event, None)[0]
    assert not conditions_hold([{"field": "status", "op": "eq", "value": "new"}], event, None)[0]


def test_validation_names_each_problem():
    problems = validate(
        [{"field": "nope", "op": "eq", "value": "x"}, {"field": "total", "op": "gt", "value": "abc"}],
        [{"type": "change_status", "value": ""}, {"type": "create_task", "value": "manager", "text": ""}],
    )
    assert any("Condition 1" in p for p in problems)
    assert any("not a number" in p for p in problems)
    assert any("Action 1" in p for p in problems)
    assert any("Action 2" in p for p in problems)
    assert validate([], []) == ["Add at least one action."]


def test_a_trigger_s_problems_are_told_in_the_reader_s_language():
    from django.utils import translation

    with translation.override("ru"):
        problems = validate([{"field": "", "op": "eq", "value": "1"}], [])
    assert problems == ["Условие 1: выберите поле.", "Добавьте хотя бы одно действие."]

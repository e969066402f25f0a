"""The event catalogue: each kind declared once with a typed payload, and recorded only through it."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from oms import event_catalogue
from oms.event_catalogue import CATALOGUE, OrderStatusChanged, ShipmentStatusChanged
from oms.events import record_event
from oms.models import Event

ROOT = Path(__file__).resolve().parents[2]
APPS = ["oms", "inventory", "orders", "shipments", "notifications", "analytics"]


def test_kinds_are_unique_and_each_has_a_label_a_description_and_documented_fields():
    assert len(event_catalogue.KINDS) == len(set(event_catalogue.KINDS)) == len(CATALOGUE)
    for event in CATALOGUE:
        assert event.label and event.description
        for name, field in event.model_fields.items():
            assert field.description, f"{event.kind}.{name} has no description"
            assert field.examples, f"{event.kind}.{name} has no example"


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.kind)
def test_each_kinds_example_is_a_valid_payload_that_reads_back_the_same(event):
    payload = event.example().payload()
    assert event.model_validate(payload).payload() == payload


def test_the_contracts_kinds_and_payload_field_names_stay():
    assert {"order.created", "order.status_changed", "shipment.status_changed"} <= set(event_catalogue.KINDS)
    assert set(OrderStatusChanged.example().payload()) >= {"order_id", "number", "from", "to", "from_group"}
    assert set(ShipmentStatusChanged.example().payload()) >= {"order_id", "number", "shipment_id", "state"}


def test_a_payload_with_a_missing_or_unknown_field_is_refused():
    with pytest.raises(ValidationError):
        OrderStatusChanged(order_id=1, number="1")
    with pytest.raises(ValidationError):
        ShipmentStatusChanged.model_validate({**ShipmentStatusChanged.example().payload(), "colour": "red"})


@pytest.mark.django_db
def test_record_event_stores_the_kind_and_the_payload_under_its_wire_names(tenant):
    record_event(
        tenant=tenant,
        event=OrderStatusChanged(
            order_id=7,
            number="7",
            from_status="new",
            to_status="confirmed",
            from_group="new",
            to_group="approval",
            actor="anna",
        ),
    )
    stored = Event.objects.get()
    assert stored.kind == "order.status_changed"
    assert stored.payload["from"] == "new" and stored.payload["to"] == "confirmed"


def _app_sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts and path.name != "event_catalogue.py":
                yield path


def test_no_app_names_an_event_kind_by_a_string_literal():
    """Kinds are named through the catalogue (`OrderCreated.kind`), so a kind is renamed or found in one place."""
    kinds = "|".join(re.escape(kind) for kind in event_catalogue.KINDS)
    literal = re.compile(rf"""["']({kinds})["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _app_sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []

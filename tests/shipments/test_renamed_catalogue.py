"""Every behaviour hangs on a status purpose: a shop that renames every code of the default catalogue keeps its
whole order path working (intake, reserve, split, pack by scan, hand over, deliver, refuse, return)."""

import json

import pytest
from django.db.models import F, Value
from django.db.models.functions import Concat

from inventory.models import MoveKind, StockLevel, StockMove
from notifications.models import Trigger
from notifications.services import triggers
from notifications.services.tracking import customer_timeline
from oms.event_catalogue import OrderStatusChanged
from oms.models import Event
from orders.catalogue import DEFAULT_STATUSES
from orders.models import Order, OrderStatus, StatusPurpose
from shipments.services import common, custody, packing, returns, routes
from tests.factories import WarehouseFactory
from tests.notifications.helpers import drain
from tests.orders.helpers import SYSTEM, stocked_product

from .helpers import PACKER_ACTOR, courier_of

pytestmark = pytest.mark.django_db


def post(client, path, body=None):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def rename_every_code(tenant):
    OrderStatus.objects.filter(tenant=tenant).update(
        code=Concat(Value("our-"), F("code")), name=Concat(Value("Our "), F("name"))
    )
    codes = set(OrderStatus.objects.filter(tenant=tenant).values_list("code", flat=True))
    assert codes == {f"our-{code}" for code, *_ in DEFAULT_STATUSES}


def intake(api_client, *lines):
    response = post(
        api_client,
        "/api/v1/orders",
        {
            "customer": {"name": "Rita Renamed", "phone": "+7 900 123-45-67"},
            "delivery_address": "1 Renamed Street",
            "lines": [{"sku": product.sku, "quantity": quantity} for product, quantity in lines],
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def transition(api_client, order_id, code):
    response = post(api_client, f"/api/v1/orders/{order_id}/transition", {"to": code})
    assert response.status_code == 200, response.content
    return response.json()


def pack_by_scan(order):
    for line in order.lines.select_related("product"):
        for _ in range(line.quantity):
            result = packing.scan_item(order=order, code=line.product.barcode, actor=PACKER_ACTOR)
    return result.order


def on_hand(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse).on_hand


def test_the_whole_path_survives_renaming_every_status_code(tenant, api_client):
    rename_every_code(tenant)
    triggers.create_from_template(tenant=tenant, code="refused-tags-bad")
    warehouse = WarehouseFactory(tenant=tenant)
    shelf = stocked_product(tenant, on_hand=3, warehouse=warehouse)
    missing = stocked_product(tenant, on_hand=0)
    courier = courier_of(tenant)

    # Intake over the API, reserve, split the unavailable line off.
    created = intake(api_client, (shelf, 2), (missing, 1))
    assert created["status"]["code"] == "our-new"
    transition(api_client, created["id"], "our-confirmed")
    assert post(api_client, f"/api/v1/orders/{created['id']}/reserve").status_code == 200
    split = post(api_client, f"/api/v1/orders/{created['id']}/split", {"mode": "unavailable"})
    assert split.status_code == 201, split.content
    child = Order.objects.get(pk=split.json()["id"])
    assert child.status.code == "our-awaiting-stock" and child.status.purpose == StatusPurpose.SPLIT_TARGET

    # Pack by scan: the last unit moves the order to the packed status, whatever it is called.
    transition(api_client, created["id"], "our-assembling")
    order = pack_by_scan(Order.objects.get(pk=created["id"]))
    assert order.status.code == "our-packed" and order.packing_verified_at
    assert next(step for step in customer_timeline(order) if step.key == "packed").done

    # Hand over to a courier, deliver on the route.
    handed = custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier)
    assert handed.order.status.code == "our-handed-over"
    routes.depart(route=handed.stop.route, actor=SYSTEM)
    routes.deliver(stop=handed.stop, actor=SYSTEM, amount_collected=str(routes.amount_to_collect(handed.order)))
    order.refresh_from_db()
    assert order.status.code == "our-delivered" and order.group == "complete" and order.delivered_at
    assert on_hand(shelf, warehouse) == 1

    # A second parcel goes out, is refused on the way and comes back.
    second = intake(api_client, (shelf, 1))
    transition(api_client, second["id"], "our-confirmed")
    assert post(api_client, f"/api/v1/orders/{second['id']}/reserve").status_code == 200
    transition(api_client, second["id"], "our-assembling")
    parcel = pack_by_scan(Order.objects.get(pk=second["id"]))
    custody.hand_over(order=parcel, actor=PACKER_ACTOR, courier=courier_of(tenant))
    transition(api_client, second["id"], "our-in-transit")
    refused = transition(api_client, second["id"], "our-refused")
    assert refused["status"]["code"] == "our-refused"
    drain()
    parcel.refresh_from_db()
    parcel.customer.refresh_from_db()
    assert parcel.customer.tags == ["BAD"]  # the ready-made trigger follows the purpose, not the code
    returned = returns.receive_return(order=parcel, actor=PACKER_ACTOR)
    assert returned.status.code == "our-returned" and returned.status.purpose == StatusPurpose.RETURNED
    assert StockMove.objects.filter(product=shelf, kind=MoveKind.SHIPMENT).exists()

    # Status-change events say what the statuses were for.
    payloads = [e.payload for e in Event.objects.filter(kind=OrderStatusChanged.kind, payload__order_id=second["id"])]
    assert [p["to_purpose"] for p in payloads][-3:] == ["in_transit", "refused", "returned"]
    assert Trigger.objects.get().conditions[0]["field"] == "to_purpose"


def test_tracking_map_names_purposes_so_carrier_news_follows_renamed_statuses(tenant):
    rename_every_code(tenant)
    mapping = common.settings_for(tenant).tracking_status_map
    assert common.mapped_status(tenant.pk, mapping["in_transit"]).code == "our-in-transit"
    assert common.mapped_status(tenant.pk, mapping["at_pickup_point"]).code == "our-at-pickup-point"
    assert common.mapped_status(tenant.pk, "our-delivered").purpose == StatusPurpose.DELIVERED  # codes still work
    assert common.mapped_status(tenant.pk, "") is None

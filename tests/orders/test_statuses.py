import pytest

from oms.actors import Actor
from oms.models import Role
from orders.errors import TransitionBlocked, TransitionNotAllowed
from orders.models import ActivityKind, Group, OrderActivity, StatusTransition
from orders.services import editing, reservations, statuses
from orders.services.settings import set_transition

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_new_order_starts_in_the_default_new_status(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    assert (order.status.code, order.group) == ("new", Group.NEW)


def test_matrix_refuses_a_move_it_does_not_list(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with pytest.raises(TransitionNotAllowed):
        move(order, "delivered")
    order.refresh_from_db()
    assert order.status.code == "new"


def test_assembly_is_blocked_while_a_line_is_unreserved(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 2)])
    move(order, "confirmed")
    with pytest.raises(TransitionBlocked) as refused:
        move(order, "assembling")
    assert any("0 of 2 reserved" in reason for reason in refused.value.reasons)
    order.refresh_from_db()
    assert order.status.code == "confirmed"


def test_assembly_is_allowed_once_every_line_is_reserved(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=5), 2)])
    move(order, "confirmed")
    reservations.reserve_order(order=order, actor=SYSTEM)
    order = move(order, "assembling")
    assert order.group == Group.ASSEMBLY


def test_delivery_needs_packing_and_handover(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    move(order, "confirmed")
    reservations.reserve_order(order=order, actor=SYSTEM)
    move(order, "assembling", "packed")
    with pytest.raises(TransitionBlocked) as refused:
        move(order, "handed-over")
    assert len(refused.value.reasons) == 2
    editing.record_shipment_fact(order=order, fact="packing_verified_at", actor=SYSTEM)
    editing.record_shipment_fact(order=order, fact="handed_over_at", actor=SYSTEM)
    assert move(order, "handed-over").group == Group.DELIVERY


def test_complete_needs_confirmed_delivery(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    move(order, "confirmed")
    reservations.reserve_order(order=order, actor=SYSTEM)
    move(order, "assembling", "packed")
    editing.record_shipment_fact(order=order, fact="packing_verified_at", actor=SYSTEM)
    editing.record_shipment_fact(order=order, fact="handed_over_at", actor=SYSTEM)
    move(order, "handed-over")
    with pytest.raises(TransitionBlocked, match="Delivery has not been confirmed"):
        move(order, "delivered")


def test_cancel_releases_reservations(tenant):
    product = stocked_product(tenant, on_hand=3)
    order = place_order(tenant, [(product, 3)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    move(order, "cancelled")
    level = product.levels.get()
    assert (level.reserved, level.on_hand) == (0, 3)
    assert order.lines.get().reserved == 0


def test_status_change_records_history_and_event(tenant):
    from oms.models import Event

    order = place_order(tenant, [(stocked_product(tenant), 1)])
    move(order, "confirmed")
    entry = OrderActivity.objects.get(order=order, kind=ActivityKind.STATUS)
    assert entry.changes["status"] == ["new", "confirmed"] and entry.who == "tests"
    assert Event.objects.filter(tenant=tenant, kind="order.status_changed", payload__order_id=order.pk).exists()


def test_a_channel_with_its_own_matrix_follows_it(tenant):
    order_web = place_order(tenant, [(stocked_product(tenant), 1)], channel="web")
    order_market = place_order(tenant, [(stocked_product(tenant), 1)], channel="marketplace")
    new, confirmed = (order_web.status, statuses.OrderStatus.objects.get(tenant=tenant, code="confirmed"))
    set_transition(tenant=tenant, from_status=new, to_status=confirmed, allowed=False, channel="marketplace")
    with pytest.raises(TransitionNotAllowed):
        move(order_market, "confirmed")
    assert move(order_web, "confirmed").status.code == "confirmed"
    assert StatusTransition.objects.filter(tenant=tenant, channel="marketplace").count() > 10  # copied from general


def test_a_move_narrowed_to_a_role_is_refused_to_other_roles(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    new = order.status
    confirmed = statuses.OrderStatus.objects.get(tenant=tenant, code="confirmed")
    set_transition(tenant=tenant, from_status=new, to_status=confirmed, allowed=False, role=Role.MANAGER)
    with pytest.raises(TransitionNotAllowed):
        statuses.change_status(order=order, to_code="confirmed", actor=Actor(role=Role.MANAGER, label="m"))
    assert statuses.change_status(order=order, to_code="confirmed", actor=Actor(role=Role.OWNER, label="o"))


def test_an_inactive_status_cannot_be_entered(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    statuses.OrderStatus.objects.filter(tenant=tenant, code="confirmed").update(is_active=False)
    with pytest.raises(TransitionNotAllowed):
        move(order, "confirmed")


@pytest.mark.django_db(transaction=True)
def test_a_matrix_cell_allowed_twice_at_once_is_one_move_not_an_error(tenant):
    """A double click on the grid sends two toggles of the same empty cell together."""
    from orders.models import OrderStatus
    from tests.concurrency import run_together

    new, delivered = (OrderStatus.objects.get(tenant=tenant, code=code) for code in ("new", "delivered"))
    for channel, roles in (("", ["", Role.MANAGER]), ("marketplace", ["", ""])):
        run_together(
            lambda role, channel=channel: set_transition(
                tenant=tenant, from_status=new, to_status=delivered, allowed=True, channel=channel, role=role
            ),
            roles,
            tenant=tenant,
        )
        row = StatusTransition.objects.get(tenant=tenant, channel=channel, from_status=new, to_status=delivered)
        assert row.roles == []  # allowed for every role, as one of the two asked

"""Status purposes: declared by the default catalogue, one status per purpose and shop, edited on the statuses
screen by admins, carried by status-change events."""

import pytest
from django.db import IntegrityError, transaction

from oms.event_catalogue import OrderStatusChanged
from oms.models import Event, Role
from oms.rls import tenant_context
from orders.catalogue import DEFAULT_PURPOSES
from orders.errors import PurposeNotAllowed, PurposeTaken
from orders.models import OrderStatus, StatusPurpose
from orders.purposes import status_for
from orders.services.settings import save_status

from .helpers import move, place_order, stocked_product

pytestmark = pytest.mark.django_db


def _edit(status, **changes):
    fields = {
        "name": status.name,
        "group": status.group,
        "color": status.color,
        "position": status.position,
        "is_active": status.is_active,
    }
    fields.update(changes)
    return save_status(tenant=status.tenant, code=status.code, status=status, **fields)


def test_the_default_catalogue_declares_every_purpose_once(tenant):
    declared = dict(OrderStatus.objects.filter(tenant=tenant).exclude(purpose="").values_list("code", "purpose"))
    assert declared == {code: str(purpose) for code, purpose in DEFAULT_PURPOSES.items()}
    assert set(declared.values()) == set(StatusPurpose.values) - {StatusPurpose.DELIVERY_PROBLEM}


def test_a_purpose_belongs_to_one_status_per_shop(tenant, other_tenant):
    confirmed = OrderStatus.objects.get(tenant=tenant, code="confirmed")
    with pytest.raises(PurposeTaken) as taken:
        _edit(confirmed, purpose=StatusPurpose.SPLIT_TARGET)
    assert taken.value.field == "purpose" and "Awaiting stock" in taken.value.message
    confirmed.refresh_from_db()
    assert confirmed.purpose == ""
    # The database holds it too, tenant first: another shop has its own.
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderStatus.objects.filter(pk=confirmed.pk).update(purpose=StatusPurpose.SPLIT_TARGET)
    with tenant_context(other_tenant.pk):
        assert status_for(other_tenant.pk, StatusPurpose.SPLIT_TARGET).code == "awaiting-stock"


def test_a_purpose_moves_once_cleared_and_only_within_its_group(tenant):
    awaiting = OrderStatus.objects.get(tenant=tenant, code="awaiting-stock")
    confirmed = OrderStatus.objects.get(tenant=tenant, code="confirmed")
    with pytest.raises(PurposeNotAllowed) as wrong_group:
        _edit(OrderStatus.objects.get(tenant=tenant, code="new"), purpose=StatusPurpose.PACKED)
    assert wrong_group.value.field == "purpose"
    _edit(awaiting, purpose="")
    _edit(confirmed, purpose=StatusPurpose.SPLIT_TARGET)
    assert status_for(tenant, StatusPurpose.SPLIT_TARGET) == confirmed
    # Editing without saying a purpose leaves it alone.
    _edit(confirmed, name="Confirmed!")
    confirmed.refresh_from_db()
    assert confirmed.purpose == StatusPurpose.SPLIT_TARGET and confirmed.name == "Confirmed!"


def test_a_new_status_may_take_a_free_purpose(tenant):
    created = save_status(
        tenant=tenant,
        code="trouble",
        name="Trouble",
        group="delivery",
        color="#d92d20",
        position=70,
        is_active=True,
        purpose=StatusPurpose.DELIVERY_PROBLEM,
    )
    assert status_for(tenant, StatusPurpose.DELIVERY_PROBLEM) == created


def test_status_change_events_carry_purposes(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    move(order, "confirmed", "awaiting-stock")
    payloads = [e.payload for e in Event.objects.filter(kind=OrderStatusChanged.kind).order_by("pk")]
    assert payloads[-2]["from_purpose"] is None and payloads[-2]["to_purpose"] is None
    assert payloads[-1]["to_purpose"] == "split_target" and payloads[-1]["to"] == "awaiting-stock"


def _post_edit(client, status, **changes):
    data = {
        "name": status.name,
        "group": status.group,
        "color": status.color,
        "position": status.position,
        "is_active": "on",
        "purpose": status.purpose,
    }
    data.update(changes)
    return client.post(f"/orders/settings/statuses/{status.pk}/", data, follow=True)


def test_admin_sees_and_edits_purposes_on_the_statuses_screen(tenant, client_for):
    client = client_for(Role.ADMIN)
    page = client.get("/orders/settings/statuses/")
    assert page.status_code == 200
    assert "Split-off orders start here" in page.content.decode() and 'name="purpose"' in page.content.decode()
    returned = OrderStatus.objects.get(tenant=tenant, code="returned")
    cancelled = OrderStatus.objects.get(tenant=tenant, code="cancelled")
    answer = _post_edit(client, cancelled, purpose=StatusPurpose.RETURNED)
    assert "already the purpose of the status" in answer.content.decode()
    cancelled.refresh_from_db()
    assert cancelled.purpose == ""
    _post_edit(client, returned, purpose="")
    _post_edit(client, cancelled, purpose=StatusPurpose.RETURNED)
    assert status_for(tenant, StatusPurpose.RETURNED) == OrderStatus.objects.get(pk=cancelled.pk)


def test_adding_a_status_with_a_taken_purpose_shows_the_error_at_the_picker(tenant, client_for):
    client = client_for(Role.OWNER)
    answer = client.post(
        "/orders/settings/statuses/",
        {
            "code": "packed-2",
            "name": "Packed 2",
            "group": "assembly",
            "color": "#112233",
            "position": 5,
            "is_active": "on",
            "purpose": StatusPurpose.PACKED,
        },
    )
    assert answer.status_code == 200
    assert answer.context["form"].errors["purpose"]
    assert not OrderStatus.objects.filter(tenant=tenant, code="packed-2").exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.PACKER, Role.COURIER])
def test_only_admins_edit_purposes(tenant, client_for, role):
    client = client_for(role)
    status = OrderStatus.objects.get(tenant=tenant, code="cancelled")
    assert _post_edit(client, status, purpose=StatusPurpose.DELIVERY_PROBLEM).status_code in (403, 404)
    status.refresh_from_db()
    assert status.purpose == ""


def test_another_shops_status_is_404(tenant, other_tenant, client_for):
    with tenant_context(other_tenant.pk):
        foreign = OrderStatus.objects.get(tenant=other_tenant, code="cancelled")
    answer = client_for(Role.ADMIN).post(f"/orders/settings/statuses/{foreign.pk}/", {"name": "x", "purpose": ""})
    assert answer.status_code == 404


def test_a_groups_default_status_keeps_its_group_and_the_screen_says_so(tenant, client_for):
    """New orders start in the default status of group new: moving it to a group that has its default already was a
    500 (two defaults), and moving it anywhere left intake without a default."""
    new = OrderStatus.objects.get(tenant=tenant, code="new")
    answer = _post_edit(client_for(Role.ADMIN), new, group="approval")
    assert answer.status_code == 200 and "new orders" in answer.content.decode()
    new.refresh_from_db()
    assert (new.group, new.is_default) == ("new", True)

"""Triggers offer the shop's own values and refuse what names nothing."""

import pytest
from django.urls import reverse

from notifications.models import Trigger
from notifications.services import triggers
from oms.errors import DomainError
from oms.models import Role

from .test_views import builder_post

pytestmark = pytest.mark.django_db


def test_a_status_typed_by_its_name_is_saved_as_its_code(tenant):
    trigger = triggers.save_trigger(
        tenant=tenant,
        name="t",
        event_kind="order.status_changed",
        conditions=[{"field": "to_status", "op": "in", "value": "confirmed, Awaiting STOCK"}],
        actions=[{"type": "change_status", "value": "Packed"}],
        is_active=True,
    )
    assert trigger.conditions[0]["value"] == "confirmed, awaiting-stock"
    assert trigger.actions[0]["value"] == "packed"


def test_a_purpose_may_be_named_by_its_label_and_an_unknown_one_is_refused(tenant):
    trigger = triggers.save_trigger(
        tenant=tenant,
        name="t",
        event_kind="order.status_changed",
        conditions=[{"field": "to_purpose", "op": "eq", "value": "delivered"}],
        actions=[{"type": "tag_order", "value": "done"}],
        is_active=True,
    )
    assert trigger.conditions[0]["value"] == "delivered"
    with pytest.raises(DomainError):
        triggers.save_trigger(
            tenant=tenant,
            name="t2",
            event_kind="order.status_changed",
            conditions=[{"field": "to_purpose", "op": "eq", "value": "teleported"}],
            actions=[{"type": "tag_order", "value": "x"}],
            is_active=True,
        )


@pytest.mark.parametrize(
    ("conditions", "actions", "message"),
    [
        (
            [{"field": "to_status", "op": "eq", "value": "Shipped"}],
            [{"type": "tag_order", "value": "x"}],
            "no status “Shipped”",
        ),
        ([{"field": "group", "op": "eq", "value": "sent"}], [{"type": "tag_order", "value": "x"}], "no value “sent”"),
        ([], [{"type": "change_status", "value": "gone"}], "no status “gone”"),
        ([], [{"type": "email_customer", "value": "nope"}], "no active E-mail template “nope”"),
        ([], [{"type": "webhook", "value": "424242"}], "webhook endpoint 424242 does not exist"),
        ([], [{"type": "alert", "value": "user:nobody", "text": "hi"}], "nobody is “user:nobody”"),
    ],
)
def test_a_trigger_naming_nothing_of_the_shop_is_refused(tenant, conditions, actions, message):
    with pytest.raises(DomainError) as caught:
        triggers.save_trigger(
            tenant=tenant,
            name="t",
            event_kind="order.status_changed",
            conditions=conditions,
            actions=actions,
            is_active=True,
        )
    assert any(message in p for p in caught.value.details["problems"])
    assert not Trigger.objects.exists()


def test_another_shops_status_is_unknown_here(tenant, other_tenant):
    from oms import rls
    from orders.services import settings as order_settings

    with rls.tenant_context(other_tenant.pk):
        order_settings.save_status(
            tenant=other_tenant, code="theirs", name="Theirs", group="new", color="#000000", position=99, is_active=True
        )
    with pytest.raises(DomainError, match="no status “theirs”"):
        triggers.save_trigger(
            tenant=tenant,
            name="t",
            event_kind="order.status_changed",
            conditions=[{"field": "status", "op": "eq", "value": "theirs"}],
            actions=[{"type": "tag_order", "value": "x"}],
            is_active=True,
        )


def test_the_builder_offers_the_shops_statuses_by_name(client_for):
    html = builder_post(client_for(Role.ADMIN), reverse("notifications:trigger_new"), "refresh").content.decode()
    assert '<select class="r-value" name="cond_value"' in html
    assert '<option value="refused" selected>Refused</option>' in html
    assert ">Awaiting stock</option>" in html


def test_the_builder_refuses_a_typed_unknown_status_with_a_clear_message(client_for):
    response = builder_post(client_for(Role.ADMIN), reverse("notifications:trigger_new"), "save", cond_value=["Shiped"])
    html = response.content.decode()
    assert response.status_code == 200 and "there is no status “Shiped” in this shop" in html
    assert "(not in this shop)" in html
    assert not Trigger.objects.exists()


def test_actions_offer_templates_and_people(client_for, tenant):
    html = builder_post(
        client_for(Role.ADMIN),
        reverse("notifications:trigger_new"),
        "refresh",
        act_type=["email_customer", "alert"],
        act_value=["", "manager"],
        act_text=["", "x"],
        act_hours=["", ""],
    ).content.decode()
    assert 'data-testid="act-value-1"' in html and ">Order accepted</option>" in html
    assert '<option value="manager" selected>' in html and 'value="role:packer"' in html


def test_the_trigger_list_names_the_event(client_for, tenant):
    triggers.create_from_template(tenant=tenant, code="refused-tags-bad")
    html = client_for(Role.ADMIN).get(reverse("notifications:triggers")).content.decode()
    assert "order.status_changed" not in html

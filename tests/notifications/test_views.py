"""Screens: who may see them, the htmx builder, dry run, inbox, tasks, settings forms."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert, Task, TimeLimit, Trigger, WebhookEndpoint
from notifications.services import inbox, triggers
from oms import rls
from oms.actors import Actor
from oms.models import Role

from .helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db

SETTINGS_PAGES = [
    "triggers",
    "trigger_new",
    "trigger_log_all",
    "time_limits",
    "templates",
    "windows",
    "webhooks",
    "settings",
]


@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_settings_screens_are_for_owners_and_admins(client_for, name):
    url = reverse(f"notifications:{name}")
    assert client_for(Role.ADMIN).get(url).status_code == 200
    assert client_for(Role.OWNER).get(url).status_code == 200
    assert client_for(Role.MANAGER).get(url).status_code == 403
    assert client_for(Role.PACKER).get(url).status_code == 403


def test_inbox_and_tasks_for_managers_not_packers_or_couriers(client_for):
    for name in ("inbox", "tasks"):
        url = reverse(f"notifications:{name}")
        assert client_for(Role.MANAGER).get(url).status_code == 200
        assert client_for(Role.COURIER).get(url).status_code == 403
        assert client_for(Role.PACKER).get(url).status_code == 403


def test_header_badge_shows_unread_count_and_nothing_for_packers(client_for, tenant):
    manager_client = client_for(Role.MANAGER)
    user = manager_client.get(reverse("notifications:inbox")).wsgi_request.user
    inbox.create_alerts(tenant=tenant, user_ids=[user.pk], title="Look at this")
    html = manager_client.get(reverse("notifications:tasks")).content.decode()
    assert 'data-testid="alert-count">1<' in html and 'hx-trigger="every 30s, alerts-changed from:body"' in html
    packer_page = client_for(Role.PACKER).get("/shipments/packing/")
    assert packer_page.status_code == 200 and "alert-badge" not in packer_page.content.decode()
    assert client_for(Role.PACKER).get(reverse("notifications:badge")).status_code == 403


def test_inbox_lists_only_my_alerts_and_marks_them_read(client_for, tenant, django_assert_max_num_queries):
    client = client_for(Role.MANAGER)
    me = client.get(reverse("notifications:inbox")).wsgi_request.user
    other = client_for(Role.MANAGER).get(reverse("notifications:inbox")).wsgi_request.user
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    for i in range(15):
        inbox.create_alerts(tenant=tenant, user_ids=[me.pk], title=f"Mine {i}", order=order)
    inbox.create_alerts(tenant=tenant, user_ids=[other.pk], title="Not mine")
    with django_assert_max_num_queries(12):
        html = client.get(reverse("notifications:inbox")).content.decode()
    assert "Mine 3" in html and "Not mine" not in html
    alert = Alert.objects.filter(user=me).first()
    response = client.post(reverse("notifications:alert_read", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.read_at is not None
    foreign = Alert.objects.get(user=other)
    assert client.post(reverse("notifications:alert_read", args=[foreign.pk])).status_code == 404


def test_my_tasks_toggle_and_overdue_highlight(client_for, tenant):
    client = client_for(Role.MANAGER)
    me = client.get(reverse("notifications:tasks")).wsgi_request.user
    task = inbox.create_task(
        tenant=tenant, title="Call back", actor=Actor.system(), assignee=me, due_at=timezone.now() - timedelta(hours=1)
    )
    inbox.create_task(tenant=tenant, title="Pool task", actor=Actor.system(), role=Role.MANAGER)
    html = client.get(reverse("notifications:tasks")).content.decode()
    assert "Call back" in html and "Pool task" in html and "task-overdue" in html
    response = client.post(reverse("notifications:task_toggle", args=[task.pk]), {"done": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "task-done" in response.content.decode()
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == me
    client.post(reverse("notifications:task_toggle", args=[task.pk]), {"done": "0"})
    task.refresh_from_db()
    assert task.done_at is None


def test_add_a_task_for_an_order_from_my_tasks(client_for, tenant):
    client = client_for(Role.MANAGER)
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    response = client.post(reverse("notifications:tasks"), {"title": "Check address", "order_number": order.number})
    assert response.status_code == 302
    assert Task.objects.get().order == order
    response = client.post(reverse("notifications:tasks"), {"title": "X", "order_number": "nope"})
    assert response.status_code == 200 and "No order with this number" in response.content.decode()


def builder_post(client, url, op, **extra):
    data = {
        "name": "Refused → BAD",
        "event_kind": "order.status_changed",
        "is_active": "on",
        "cond_field": ["to_status"],
        "cond_op": ["eq"],
        "cond_value": ["refused"],
        "act_type": ["tag_customer"],
        "act_value": ["BAD"],
        "act_text": [""],
        "act_hours": [""],
        "op": op,
        **extra,
    }
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_builder_adds_and_removes_rows_with_htmx_then_saves(client_for):
    client = client_for(Role.ADMIN)
    url = reverse("notifications:trigger_new")
    html = builder_post(client, url, "add_condition").content.decode()
    assert html.count('name="cond_field"') == 2 and "<html" not in html
    html = builder_post(client, url, "add_action").content.decode()
    assert html.count('name="act_type"') == 2
    html = builder_post(client, url, "remove_condition:0").content.decode()
    assert html.count('name="cond_field"') == 0
    assert not Trigger.objects.exists()
    response = builder_post(client, url, "save")
    assert response.status_code == 204 and response["HX-Redirect"]
    trigger = Trigger.objects.get()
    assert trigger.conditions == [{"field": "to_status", "op": "eq", "value": "refused"}]
    assert trigger.actions == [{"type": "tag_customer", "value": "BAD"}]


def test_builder_shows_problems_and_saves_nothing(client_for):
    client = client_for(Role.ADMIN)
    response = builder_post(client, reverse("notifications:trigger_new"), "save", act_value=[""])
    assert response.status_code == 200 and "give the tag" in response.content.decode()
    assert not Trigger.objects.exists()


def test_dry_run_shows_what_would_happen_and_writes_nothing(client_for, tenant):
    trigger = triggers.create_from_template(tenant=tenant, code="paid-to-assembly")
    order = place_order(tenant, [(stocked_product(tenant), 1)], payment_status="paid")
    client = client_for(Role.ADMIN)
    url = reverse("notifications:trigger_dry_run", args=[trigger.pk])
    html = client.get(url, {"order": order.number}, HTTP_HX_REQUEST="true").content.decode()
    assert "would fire" in html and "Reserve stock" in html and "Assembling" in html
    order.refresh_from_db()
    assert order.status.code == "new" and order.lines.get().reserved == 0
    assert "No order" in client.get(url, {"order": "999999"}).content.decode()


def test_foreign_trigger_is_404(client_for, other_tenant):
    with rls.tenant_context(other_tenant.pk):
        trigger = triggers.create_from_template(tenant=other_tenant, code="refused-tags-bad")
    client = client_for(Role.ADMIN)
    assert client.get(reverse("notifications:trigger_edit", args=[trigger.pk])).status_code == 404
    assert client.post(reverse("notifications:trigger_toggle", args=[trigger.pk])).status_code == 404


def test_templates_enable_disable_and_log_pages(client_for, tenant):
    client = client_for(Role.ADMIN)
    assert client.post(reverse("notifications:trigger_from_template", args=["refused-tags-bad"])).status_code == 302
    trigger = Trigger.objects.get()
    client.post(reverse("notifications:trigger_toggle", args=[trigger.pk]), {"active": "0"})
    trigger.refresh_from_db()
    assert not trigger.is_active
    assert client.get(reverse("notifications:trigger_log", args=[trigger.pk])).status_code == 200


def test_time_limit_form(client_for, tenant):
    client = client_for(Role.ADMIN)
    from orders.models import OrderStatus

    status = OrderStatus.objects.get(tenant=tenant, code="new")
    response = client.post(
        reverse("notifications:time_limits"),
        {"status": status.pk, "amount": "2", "unit": "hours", "work_starts": "09:00", "work_ends": "18:00"},
    )
    assert response.status_code == 302
    assert TimeLimit.objects.get().minutes == 120
    response = client.post(reverse("notifications:time_limits"), {"status": status.pk, "amount": "-1", "unit": "hours"})
    assert response.status_code == 200 and TimeLimit.objects.get().minutes == 120


def test_webhook_screen_shows_the_secret_once_and_refuses_private_urls(client_for):
    client = client_for(Role.ADMIN)
    html = client.post(
        reverse("notifications:webhooks"), {"url": "http://10.1.2.3/x", "events": ["order.created"]}
    ).content.decode()
    assert "private" in html and not WebhookEndpoint.objects.exists()


def test_webhook_screen_creates_and_rotates(client_for, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    client = client_for(Role.ADMIN)
    html = client.post(
        reverse("notifications:webhooks"), {"url": "http://127.0.0.1:1/x", "events": ["order.created"]}
    ).content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in html
    assert endpoint.secret not in client.get(reverse("notifications:webhooks")).content.decode()
    assert (
        endpoint.secret not in client.get(reverse("notifications:webhook_detail", args=[endpoint.pk])).content.decode()
    )
    html = client.post(
        reverse("notifications:webhook_action", args=[endpoint.pk]), {"action": "rotate"}
    ).content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret in html and endpoint.previous_secret


def test_order_panel_for_managers(client_for, tenant):
    from notifications.services import tracking

    order = place_order(tenant, [(stocked_product(tenant), 1)], delivery_method="courier")
    tracking.save_delivery_window(tenant=tenant, delivery_method="courier", days_min=1, days_max=3)
    html = client_for(Role.MANAGER).get(reverse("notifications:order_panel", args=[order.pk])).content.decode()
    assert tracking.tracking_path(order) in html and "Promised delivery" in html
    assert client_for(Role.COURIER).get(reverse("notifications:order_panel", args=[order.pk])).status_code == 403


def test_admin_adds_and_removes_a_holiday(client_for, tenant, other_tenant):
    from notifications.models import Holiday
    from notifications.services import sla

    with rls.tenant_context(other_tenant.pk):
        theirs = sla.add_holiday(tenant=other_tenant, day=timezone.localdate(), name="Theirs")

    client = client_for(Role.ADMIN)
    day = timezone.localdate() + timedelta(days=30)
    response = client.post(reverse("notifications:holiday_add"), {"day": day.isoformat(), "name": "Shop party"})
    assert response.status_code == 302
    page = client.get(reverse("notifications:time_limits")).content.decode()
    assert "Shop party" in page and day.isoformat() in page
    assert page.count('<section class="card" id="holidays">') == 1 and "<title>Time limits" in page
    again = client.post(reverse("notifications:holiday_add"), {"day": day.isoformat()})
    assert again.status_code == 200 and "already a holiday" in again.content.decode()
    bad = client.post(reverse("notifications:holiday_add"), {"day": "not a day"})
    assert bad.status_code == 200 and Holiday.objects.filter(tenant=tenant).count() == 1
    assert "Theirs" not in page
    assert client.post(reverse("notifications:holiday_delete", args=[theirs.pk])).status_code == 404
    holiday = Holiday.objects.get(tenant=tenant)
    assert client_for(Role.MANAGER).post(reverse("notifications:holiday_delete", args=[holiday.pk])).status_code == 403
    assert client.post(reverse("notifications:holiday_delete", args=[holiday.pk])).status_code == 302
    assert not Holiday.objects.exists()
    with rls.tenant_context(other_tenant.pk):
        assert list(Holiday.objects.values_list("name", flat=True)) == ["Theirs"]


def test_builder_removing_a_row_of_thousands_of_digits_removes_nothing(client_for):
    html = builder_post(client_for(Role.ADMIN), reverse("notifications:trigger_new"), "remove_condition:" + "9" * 5000)
    assert html.status_code == 200 and html.content.decode().count('name="cond_field"') == 1
    assert not Trigger.objects.exists()

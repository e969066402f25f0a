"""E-mail and SMS to customers: templates, the tracking link, the order's timeline."""

import pytest

from notifications.messaging.sms import HttpGatewayBackend, SmsError
from notifications.models import MessageLog
from notifications.services import messaging, tracking
from oms.errors import DomainError
from orders.models import ActivityKind, OrderActivity

from .helpers import SYSTEM, place_order, stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(tenant):
    return place_order(
        tenant,
        [(stocked_product(tenant), 1)],
        customer_name="Ann",
        customer_email="ann@example.test",
        customer_phone="+7 900 111 22 33",
        delivery_method="courier",
    )


def test_tenants_start_with_the_four_messages_in_both_channels(tenant):
    codes = set(tenant and messaging.MessageTemplate.objects.filter(tenant=tenant).values_list("code", "channel"))
    for code in ("order-accepted", "shipped", "at-pickup-point", "delivered"):
        assert (code, "email") in codes and (code, "sms") in codes


def test_email_goes_through_the_django_backend_and_is_on_the_timeline(order, mailoutbox):
    log = messaging.send_customer_message(order=order, channel="email", template_code="order-accepted", actor=SYSTEM)
    assert log.ok and len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ann@example.test"] and "Hello Ann" in mail.body
    assert tracking.tracking_path(order) in mail.body
    activity = OrderActivity.objects.get(order=order, kind=ActivityKind.MESSAGE)
    assert activity.changes["template"] == "order-accepted" and activity.changes["channel"] == "email"


def test_shipped_message_carries_the_tracking_number(order, mailoutbox):
    tracking.record_shipment_info(
        tenant_id=order.tenant_id, order_id=order.pk, info={"carrier": "FastPost", "tracking_number": "FP123"}
    )
    messaging.send_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    assert "FP123" in mailoutbox[0].body and "FastPost" in mailoutbox[0].body


def test_sms_logging_backend_writes_a_row(order):
    messaging.send_customer_message(order=order, channel="sms", template_code="delivered", actor=SYSTEM)
    log = MessageLog.objects.get()
    assert log.channel == "sms" and log.backend == "LoggingSmsBackend" and log.ok
    assert tracking.tracking_url(order) in log.body


def test_a_template_without_the_link_gets_it_appended(order, tenant, mailoutbox):
    messaging.save_template(tenant=tenant, code="plain", channel="email", name="Plain", subject="Hi", body="Just text.")
    messaging.send_customer_message(order=order, channel="email", template_code="plain", actor=SYSTEM)
    assert mailoutbox[0].body.endswith(tracking.tracking_url(order))


def test_failed_sms_is_logged_as_failed(order, settings):
    settings.SMS_BACKEND = "notifications.messaging.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    log = messaging.send_customer_message(order=order, channel="sms", template_code="shipped", actor=SYSTEM)
    assert not log.ok and log.error


def test_http_gateway_needs_a_url(settings):
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(SmsError):
        HttpGatewayBackend().send(to="+1", text="x")


def test_customer_without_email_is_a_clear_error(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with pytest.raises(DomainError, match="no e-mail"):
        messaging.send_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)


def test_broken_template_text_is_refused(tenant):
    with pytest.raises(DomainError, match="error"):
        messaging.save_template(tenant=tenant, code="x", channel="email", name="X", subject="", body="{% if %}")

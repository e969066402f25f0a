"""E-mail and SMS to customers: templates, the tracking link, the order's timeline, and the message outbox (queued in
the deciding transaction, sent after commit outside any transaction, at most once)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from notifications.messaging.sms import HttpGatewayBackend, SmsError
from notifications.models import MessageLog, MessageState
from notifications.services import messaging, tracking
from notifications.tasks import sweep_messages
from oms import http, rls
from oms.db import NetworkCallInTransaction
from oms.errors import DomainError
from orders.models import ActivityKind, OrderActivity

from .helpers import SYSTEM, Receiver, place_order, send_now, stocked_product

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
    log = send_now(order=order, channel="email", template_code="order-accepted", actor=SYSTEM)
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
    send_now(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    assert "FP123" in mailoutbox[0].body and "FastPost" in mailoutbox[0].body


def test_sms_logging_backend_writes_a_row(order):
    send_now(order=order, channel="sms", template_code="delivered", actor=SYSTEM)
    log = MessageLog.objects.get()
    assert log.channel == "sms" and log.backend == "LoggingSmsBackend" and log.ok
    assert tracking.tracking_url(order) in log.body


def test_a_template_without_the_link_gets_it_appended(order, tenant, mailoutbox):
    messaging.save_template(tenant=tenant, code="plain", channel="email", name="Plain", subject="Hi", body="Just text.")
    send_now(order=order, channel="email", template_code="plain", actor=SYSTEM)
    assert mailoutbox[0].body.endswith(tracking.tracking_url(order))


def test_a_refused_send_is_retried_with_back_off_then_failed_on_the_timeline(order, settings):
    settings.SMS_BACKEND = "notifications.messaging.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"  # nothing listens: the gateway never took it
    log = send_now(order=order, channel="sms", template_code="shipped", actor=SYSTEM)
    assert log.state == MessageState.QUEUED and log.attempts == 1 and log.error
    assert log.next_attempt_at > timezone.now()  # backed off, not hammered
    assert not OrderActivity.objects.filter(order=order, kind=ActivityKind.MESSAGE).exists()
    for _ in range(messaging.MAX_SEND_ATTEMPTS - 1):
        MessageLog.objects.filter(pk=log.pk).update(next_attempt_at=timezone.now())
        messaging.send_queued(log.pk)
    log.refresh_from_db()
    assert log.state == MessageState.FAILED and log.attempts == messaging.MAX_SEND_ATTEMPTS
    activity = OrderActivity.objects.get(order=order, kind=ActivityKind.MESSAGE)
    assert activity.changes["sent"] is False and "SMS gateway failed" in activity.changes["error"]
    assert messaging.send_queued(log.pk) is None  # failed is final


def test_the_message_is_written_queued_and_sent_only_after_commit(
    order, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        log = messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
        assert MessageLog.objects.get().state == MessageState.QUEUED
    assert mailoutbox == [] and len(callbacks) == 1  # nothing went out inside the transaction
    callbacks[0]()  # the commit: the task runs
    log.refresh_from_db()
    assert log.state == MessageState.SENT and log.sent_at and len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"].startswith(f"<message-{log.pk}@")


def test_a_rolled_back_decision_sends_nothing(order, mailoutbox, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
        raise RuntimeError("the change that wanted the message failed")
    assert callbacks == [] and mailoutbox == [] and not MessageLog.objects.exists()


def test_a_repeated_task_sends_once(order, mailoutbox):
    log = messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    assert messaging.send_queued(log.pk) is not None
    assert messaging.send_queued(log.pk) is None
    assert len(mailoutbox) == 1
    assert OrderActivity.objects.filter(order=order, kind=ActivityKind.MESSAGE).count() == 1


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


class DyingEmailBackend(BaseEmailBackend):
    """Hands the message to the mail server, then the worker dies before it can record that."""

    def send_messages(self, email_messages):
        mail.outbox.extend(email_messages)
        raise WorkerKilled


def test_a_message_is_never_sent_twice_after_the_sender_dies_mid_send(order, mailoutbox, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DyingEmailBackend"
    log = messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    with pytest.raises(WorkerKilled):
        messaging.send_queued(log.pk)
    log.refresh_from_db()
    assert log.state == MessageState.SENDING and len(mailoutbox) == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert messaging.send_queued(log.pk) is None  # a redelivered task finds it taken
    later = timezone.now() + messaging.SEND_LEASE + timedelta(seconds=1)
    assert messaging.settle_interrupted(now=later) == 1
    for _ in range(3):  # sweeps keep running: it is never sent again
        messaging.settle_interrupted(now=later)
        messaging.send_queued(log.pk)
    log.refresh_from_db()
    assert log.state == MessageState.FAILED and "interrupted" in log.error and len(mailoutbox) == 1
    activity = OrderActivity.objects.get(order=order, kind=ActivityKind.MESSAGE)
    assert activity.changes["sent"] is False


def test_an_interrupted_sms_goes_again_with_the_same_idempotency_key(order, settings):
    settings.SMS_BACKEND = "notifications.messaging.sms.HttpGatewayBackend"
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the gateway listens on 127.0.0.1
    with Receiver() as gateway:
        settings.SMS_GATEWAY_URL = gateway.url
        log = messaging.queue_customer_message(order=order, channel="sms", template_code="shipped", actor=SYSTEM)
        # The worker claimed it and died: whether the gateway took it is unknown.
        MessageLog.objects.filter(pk=log.pk).update(
            state=MessageState.SENDING, attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        assert messaging.settle_interrupted() == 1
        messaging.send_queued(log.pk)
    log.refresh_from_db()
    assert log.state == MessageState.SENT and len(gateway.requests) == 1
    assert gateway.requests[0]["headers"]["idempotency-key"] == f"message-{log.pk}"


def test_the_sweep_sends_a_message_whose_task_was_lost(order, mailoutbox):
    log = messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    MessageLog.objects.filter(pk=log.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert sweep_messages() == 1
    rls.bind(order.tenant_id)
    log.refresh_from_db()
    assert log.state == MessageState.SENT and len(mailoutbox) == 1
    assert sweep_messages() == 0


def test_no_network_call_inside_a_transaction(order):
    log = messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    with pytest.raises(NetworkCallInTransaction), transaction.atomic():
        messaging.send_queued(log.pk)
    with pytest.raises(NetworkCallInTransaction), transaction.atomic():
        http.request("POST", "http://127.0.0.1:9/")


def test_http_gateway_needs_a_url(settings):
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(SmsError):
        HttpGatewayBackend().send(to="+1", text="x")


def test_customer_without_email_is_a_clear_error(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with pytest.raises(DomainError, match="no e-mail"):
        send_now(order=order, channel="email", template_code="shipped", actor=SYSTEM)


def test_broken_template_text_is_refused(tenant):
    with pytest.raises(DomainError, match="error"):
        messaging.save_template(tenant=tenant, code="x", channel="email", name="X", subject="", body="{% if %}")


def test_a_second_template_of_the_same_code_is_refused_in_words(tenant):
    messaging.save_template(tenant=tenant, code="hi", channel="email", name="Hi", subject="Hi", body="Hello.")
    with pytest.raises(DomainError, match="There is already a template 'hi' for E-mail."):
        messaging.save_template(tenant=tenant, code="hi", channel="email", name="Hi", subject="Hi", body="Again.")


def test_an_address_the_mailer_refuses_fails_at_once_with_the_reason(tenant, mailoutbox):
    """The API keeps a customer's e-mail as given. One the e-mail library refuses (a line break: a header injected)
    is known not to have gone out: the message fails now, saying why, not minutes later as "interrupted, it may
    have reached the customer"."""
    address = "ann@example.test\nBcc: eve@example.test"
    order = place_order(tenant, [(stocked_product(tenant), 1)], customer_name="Ann", customer_email=address)
    log = messaging.queue_customer_message(order=order, channel="email", template_code="shipped", actor=SYSTEM)
    messaging.send_queued(log.pk)
    log.refresh_from_db()
    assert log.state == MessageState.FAILED and "interrupted" not in log.error and not mailoutbox
    assert OrderActivity.objects.get(order=order, kind=ActivityKind.MESSAGE).changes["sent"] is False

"""Messages to customers: e-mail through Django's e-mail backend, SMS through the configured SMS backend.

The message log is the outbox: a message is written queued in the transaction that decides to send it and is sent by
a task after commit, outside any transaction, at most once. Every message links to the order's tracking page; its
final state (sent or failed) is on the order's timeline.
"""

import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from oms.actors import Actor
from oms.db import ensure_no_transaction
from oms.errors import DomainError
from oms.events import backoff, enqueue_after_commit, send_task
from orders.models import ActivityKind, Order
from orders.services.activity import log_activity

from .. import templating
from ..messaging.sms import SmsError, get_backend
from ..models import Channel, MessageLog, MessageState, MessageTemplate
from ..templating import TEXT, ListOf
from . import tracking

MAX_LINES = 200  # lines offered to a template; a message is not a packing list
MAX_SEND_ATTEMPTS = 5  # with the events' back-off: about 8 minutes of a provider being away
SEND_LEASE = timedelta(minutes=2)  # longer than any provider call may take (SMTP and HTTP time out sooner)
INTERRUPTED = (
    "Sending was interrupted (the worker stopped mid-send): it may have reached the customer, so it is not sent "
    "again automatically."
)

DEFAULT_TEMPLATES = [
    # code, channel, name, subject, body
    (
        "order-accepted",
        Channel.EMAIL,
        "Order accepted",
        "We have your order {{ order_number }}",
        "Hello {{ customer_name }},\n\nthank you: we have accepted your order {{ order_number }} "
        "({{ total }}).{% if window %} Expected delivery: {{ window }}.{% endif %}\n\n"
        "Follow it here: {{ tracking_url }}\n\n{{ shop }}",
    ),
    (
        "shipped",
        Channel.EMAIL,
        "Shipped",
        "Your order {{ order_number }} is on its way",
        "Hello {{ customer_name }},\n\nyour order {{ order_number }} has been handed to "
        "{{ carrier or 'our courier' }}.{% if tracking_number %} Tracking number: {{ tracking_number }}."
        "{% endif %}\n\nFollow it here: {{ tracking_url }}\n\n{{ shop }}",
    ),
    (
        "at-pickup-point",
        Channel.EMAIL,
        "Arrived at pickup point",
        "Your order {{ order_number }} is waiting for you",
        "Hello {{ customer_name }},\n\nyour order {{ order_number }} has arrived at the pickup point"
        "{% if pickup_address %}: {{ pickup_address }}{% endif %}.{% if pickup_hours %} Opening hours: "
        "{{ pickup_hours }}.{% endif %}\n\nDetails: {{ tracking_url }}\n\n{{ shop }}",
    ),
    (
        "delivered",
        Channel.EMAIL,
        "Delivered",
        "Your order {{ order_number }} has been delivered",
        "Hello {{ customer_name }},\n\nyour order {{ order_number }} has been delivered. Thank you for "
        "shopping with us!\n\n{{ tracking_url }}\n\n{{ shop }}",
    ),
    (
        "order-accepted",
        Channel.SMS,
        "Order accepted",
        "",
        "{{ shop }}: order {{ order_number }} accepted. {{ tracking_url }}",
    ),
    (
        "shipped",
        Channel.SMS,
        "Shipped",
        "",
        "{{ shop }}: order {{ order_number }} shipped{% if tracking_number %}, tracking {{ tracking_number }}"
        "{% endif %}. {{ tracking_url }}",
    ),
    (
        "at-pickup-point",
        Channel.SMS,
        "Arrived at pickup point",
        "",
        "{{ shop }}: order {{ order_number }} is at the pickup point. {{ tracking_url }}",
    ),
    ("delivered", Channel.SMS, "Delivered", "", "{{ shop }}: order {{ order_number }} delivered. {{ tracking_url }}"),
    (
        "rest-follows",
        Channel.EMAIL,
        "Shipped, the rest follows",
        "Part of your order {{ order_number }} is on its way",
        "Hello {{ customer_name }},\n\nthis parcel of your order {{ order_number }} is on its way"
        "{% if carrier %} with {{ carrier }}{% endif %}:\n{% for line in lines %}- {{ line.name }} × {{ line.quantity }}\n"
        "{% endfor %}\nThe rest follows{% if follows_on %} around {{ follows_on }}{% endif %}:\n"
        "{% for part in following %}- {{ part.goods }}\n{% endfor %}\nFollow it here: {{ tracking_url }}\n\n{{ shop }}",
    ),
    (
        "rest-follows",
        Channel.SMS,
        "Shipped, the rest follows",
        "",
        "{{ shop }}: part of order {{ order_number }} shipped; the rest follows{% if follows_on %} around "
        "{{ follows_on }}{% endif %}. {{ tracking_url }}",
    ),
]


def install_default_templates(*, tenant) -> None:
    MessageTemplate.objects.bulk_create(
        [
            MessageTemplate(tenant=tenant, code=code, channel=channel, name=name, subject=subject, body=body)
            for code, channel, name, subject, body in DEFAULT_TEMPLATES
        ],
        ignore_conflicts=True,
    )


# What a shop's text may use (the templates screen lists them). Plain values only: nothing reaches a model.
LINE_FIELDS = {"name": TEXT, "sku": TEXT, "quantity": TEXT, "price": TEXT, "amount": TEXT}
MESSAGE_VARIABLES = {
    "shop": TEXT,
    "order_number": TEXT,
    "customer_name": TEXT,
    "total": TEXT,
    "delivery_method": TEXT,
    "tracking_url": TEXT,
    "carrier": TEXT,
    "tracking_number": TEXT,
    "carrier_url": TEXT,
    "pickup_address": TEXT,
    "pickup_hours": TEXT,
    "window": TEXT,
    "order": {"number": TEXT, "total": TEXT, "delivery_method": TEXT},
    "customer": {"name": TEXT},
    "lines": ListOf(LINE_FIELDS),
    "following": ListOf({"number": TEXT, "goods": TEXT, "expected": TEXT}),
    "follows_on": TEXT,
}

SAMPLE_LINES = [
    {"name": "Blue mug", "sku": "MUG-1", "quantity": 2, "price": "9.50", "amount": "19.00"},
    {"name": "Tea, 100 g", "sku": "TEA-100", "quantity": 1, "price": "6.00", "amount": "6.00"},
]
SAMPLE_CONTEXT = {
    "shop": "Sample shop",
    "order_number": "1042",
    "customer_name": "Ann Example",
    "total": "25.00",
    "delivery_method": "courier",
    "tracking_url": "https://example.test/track/sample",
    "carrier": "FastPost",
    "tracking_number": "FP123",
    "carrier_url": "https://carrier.example.test/FP123",
    "pickup_address": "1 Market Street",
    "pickup_hours": "9–18",
    "window": "03 Mar – 05 Mar 2026",
    "order": {"number": "1042", "total": "25.00", "delivery_method": "courier"},
    "customer": {"name": "Ann Example"},
    "lines": SAMPLE_LINES,
    "following": [{"number": "1042-2", "goods": "Green mug × 1", "expected": "15 Mar 2026"}],
    "follows_on": "15 Mar 2026",
}


def check_template_text(text: str, *, field: str = "body") -> None:
    """Refuse a text that uses anything beyond the documented variables and syntax, naming the problem."""
    try:
        templating.check_text(text, variables=MESSAGE_VARIABLES, sample=SAMPLE_CONTEXT)
    except templating.TemplateRefused as exc:
        label = gettext("Subject") if field == "subject" else gettext("Body")
        raise templating.TemplateRefused(
            gettext("%(label)s: %(problem)s") % {"label": label, "problem": exc.message}, details={"field": field}
        ) from exc


@transaction.atomic
def save_template(
    *, tenant, code: str, channel: str, name: str, subject: str, body: str, is_active: bool = True, template=None
) -> MessageTemplate:
    if channel not in Channel.values:
        raise DomainError(gettext("Channel must be e-mail or SMS."))
    if not body.strip():
        raise DomainError(gettext("The message needs a text."))
    check_template_text(subject, field="subject")
    check_template_text(body, field="body")
    if template is None:
        if MessageTemplate.objects.filter(tenant=tenant, channel=channel, code=code).exists():
            raise DomainError(
                gettext("There is already a template '%(code)s' for %(channel)s.")
                % {"channel": Channel(channel).label if channel in Channel.values else channel, "code": code}
            )
        return MessageTemplate.objects.create(
            tenant=tenant, code=code, channel=channel, name=name, subject=subject, body=body, is_active=is_active
        )
    template.name, template.subject, template.body, template.is_active = name, subject, body, is_active
    template.save(update_fields=["name", "subject", "body", "is_active"])
    return template


def message_context(order: Order) -> dict:
    """Plain values only: a shop's template cannot reach into models."""
    shipment = tracking.shipment_for(order)
    window = tracking.delivery_window(order)
    total = f"{order.total:.2f}"
    lines = [
        {
            "name": line.product.name,
            "sku": line.product.sku,
            "quantity": line.quantity,
            "price": f"{line.price:.2f}",
            "amount": f"{line.amount:.2f}",
        }
        for line in order.lines.with_products().order_by("pk")[:MAX_LINES]
    ]
    return {
        "shop": order.tenant.name,
        "order_number": order.number,
        "customer_name": order.customer.name,
        "total": total,
        "delivery_method": order.delivery_method,
        "tracking_url": tracking.tracking_url(order),
        "carrier": shipment.carrier if shipment else "",
        "tracking_number": shipment.tracking_number if shipment else "",
        "carrier_url": shipment.tracking_url if shipment else "",
        "pickup_address": shipment.pickup_address if shipment else "",
        "pickup_hours": shipment.pickup_hours if shipment else "",
        "window": f"{window[0]:%d %b} – {window[1]:%d %b %Y}" if window else "",
        "order": {"number": order.number, "total": total, "delivery_method": order.delivery_method},
        "customer": {"name": order.customer.name},
        "lines": lines,
        **_following(order),
    }


def _following(order: Order) -> dict:
    """The parts of the purchase that ship later (a split family), with the date the last of them should ship."""
    parts = tracking.parts_that_follow(order)
    dates = [part.expected for part in parts if part.expected]
    return {
        "following": [
            {
                "number": part.number,
                "goods": ", ".join(f"{name} × {quantity}" for name, quantity in part.lines),
                "expected": f"{part.expected:%d %b %Y}" if part.expected else "",
            }
            for part in parts
        ],
        "follows_on": f"{max(dates):%d %b %Y}" if dates and len(dates) == len(parts) else "",
    }


def render_message(template: MessageTemplate, order: Order) -> tuple[str, str]:
    """Subject and body for this order; raises templating.TemplateFailed when the stored text cannot render."""
    context = message_context(order)
    subject = templating.render_text(template.subject, variables=MESSAGE_VARIABLES, context=context)
    subject = " ".join(subject.split())[:200]
    body = templating.render_text(template.body, variables=MESSAGE_VARIABLES, context=context).strip()
    if context["tracking_url"] not in body:  # every message to the customer links the tracking page
        body = (
            f"{body}\n\n{context['tracking_url']}"
            if template.channel == Channel.EMAIL
            else f"{body} {context['tracking_url']}"
        )
    return subject, body


def _template(order: Order, channel: str, code: str) -> MessageTemplate:
    template = MessageTemplate.objects.filter(
        tenant_id=order.tenant_id, channel=channel, code=code, is_active=True
    ).first()
    if template is None:
        raise DomainError(
            gettext("There is no active %(channel)s template '%(code)s'.") % {"channel": channel, "code": code}
        )
    return template


def _deliver(log: MessageLog) -> tuple[str, str]:
    """Hand the message to the e-mail or SMS backend; returns (backend, provider's reference). Raises on failure.
    The log id is the message's identity at the provider: the e-mail's Message-ID, the SMS gateway's idempotency
    key, so a gateway that honours it never delivers the same message twice."""
    ensure_no_transaction(f"Sending {log.get_channel_display()} message {log.pk}")
    if log.channel == Channel.EMAIL:
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
        EmailMessage(
            subject=log.subject,
            body=log.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[log.to],
            headers={"Message-ID": f"<message-{log.pk}@{domain}>"},
        ).send()
        return settings.EMAIL_BACKEND, ""
    sms = get_backend()
    return type(sms).__name__, sms.send(to=log.to, text=log.body, idempotency_key=f"message-{log.pk}")


def _record(log: MessageLog, *, state: str, error: str = "", actor_label: str = "") -> None:
    """A final state: on the log and, for an order, on its timeline."""
    now = timezone.now()
    log.state, log.error = state, error[:2000]
    log.sent_at = now if state == MessageState.SENT else None
    log.next_attempt_at = None
    log.save(update_fields=["state", "error", "sent_at", "next_attempt_at", "provider_ref", "backend", "attempts"])
    if log.order_id is not None:
        log_activity(
            order=log.order,
            kind=ActivityKind.MESSAGE,
            actor=Actor.system(actor_label or log.actor_label or "system"),
            changes={
                "channel": log.channel,
                "template": log.template_code,
                "to": log.to,
                "subject": log.subject,
                "sent": state == MessageState.SENT,
                **({"error": log.error[:300]} if error else {}),
            },
        )


def queue_customer_message(*, order: Order, channel: str, template_code: str, actor: Actor) -> MessageLog:
    """Render the shop's template for the order and queue it: the log row is written in the caller's transaction
    and a task sends it after commit (`send_queued`). A text that cannot render is recorded failed, nothing sent."""
    template = _template(order, channel, template_code)
    customer = order.customer
    to = customer.email if channel == Channel.EMAIL else customer.phone
    if not to:
        raise DomainError(
            gettext("The customer has no e-mail address.")
            if channel == Channel.EMAIL
            else gettext("The customer has no phone number.")
        )
    try:
        subject, body = render_message(template, order)
    except templating.TemplateFailed as exc:
        subject, body, error = "", "", f"Template '{template_code}': {exc.message}"
    else:
        error = ""
    with transaction.atomic():
        log = MessageLog.objects.create(
            tenant_id=order.tenant_id,
            order=order,
            channel=channel,
            template_code=template_code,
            to=to,
            subject=subject,
            body=body,
            actor_label=actor.name[:150],
            next_attempt_at=timezone.now(),
        )
        if error:
            _record(log, state=MessageState.FAILED, error=error)
        else:
            enqueue_after_commit(_send_task(), log.pk)
    return log


def _send_task():
    from ..tasks import send_message

    return send_message


def send_queued(log_id: int) -> MessageLog | None:
    """Send one queued message, at most once. The claim (queued → sending) commits before the provider is called,
    so a second task for the same message finds it taken; a worker that dies mid-send leaves it `sending`, and
    `settle_interrupted` decides what happens to it. None when the message is not due or taken."""
    now = timezone.now()
    claimed = MessageLog.objects.filter(pk=log_id, state=MessageState.QUEUED, next_attempt_at__lte=now).update(
        state=MessageState.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + SEND_LEASE
    )
    if not claimed:
        return None
    log = MessageLog.objects.select_related("order").get(pk=log_id)
    try:
        log.backend, log.provider_ref = (value[:100] for value in _deliver(log))
    except (SmsError, OSError, smtplib.SMTPException) as exc:
        with transaction.atomic():
            if log.attempts >= MAX_SEND_ATTEMPTS:
                _record(log, state=MessageState.FAILED, error=str(exc) or type(exc).__name__)
            else:  # the provider refused or was unreachable: it did not take the message; try again later
                wait = backoff(log.attempts)
                MessageLog.objects.filter(pk=log.pk).update(
                    state=MessageState.QUEUED, error=str(exc)[:2000], next_attempt_at=timezone.now() + wait
                )
                transaction.on_commit(lambda: send_task(_send_task(), log.pk, countdown=wait.total_seconds()))
        return log
    except ValueError as exc:  # an address or header the e-mail library refuses before sending: it never went out
        with transaction.atomic():
            _record(log, state=MessageState.FAILED, error=str(exc) or type(exc).__name__)
        return log
    with transaction.atomic():
        _record(log, state=MessageState.SENT)
    return log


def settle_interrupted(*, now=None) -> int:
    """Messages whose sender died mid-send (claim lapsed while `sending`). Whether the provider took it is unknown:
    a gateway that honours the idempotency key gets it again (it will not deliver twice); any other is marked
    failed, never resent, so the customer never receives it twice. Returns how many were settled."""
    now = now or timezone.now()
    settled = 0
    idempotent = getattr(type(get_backend()), "idempotent", False)
    for log in MessageLog.objects.select_related("order").filter(state=MessageState.SENDING, next_attempt_at__lt=now):
        with transaction.atomic():
            if log.channel == Channel.SMS and idempotent and log.attempts < MAX_SEND_ATTEMPTS:
                settled += MessageLog.objects.filter(pk=log.pk, state=MessageState.SENDING).update(
                    state=MessageState.QUEUED, next_attempt_at=now
                )
                continue
            if MessageLog.objects.filter(pk=log.pk, state=MessageState.SENDING, next_attempt_at__lt=now).update(
                state=MessageState.FAILED
            ):
                _record(log, state=MessageState.FAILED, error=INTERRUPTED)
                settled += 1
    return settled

"""Messages to customers: e-mail through Django's e-mail backend, SMS through the configured SMS backend.

Every message links to the order's tracking page and is logged on the order's timeline.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from oms.actors import Actor
from oms.errors import DomainError
from orders.models import ActivityKind, Order
from orders.services.activity import log_activity

from .. import templating
from ..messaging.sms import SmsError, get_backend
from ..models import Channel, MessageLog, MessageTemplate
from ..templating import TEXT, ListOf
from . import tracking

MAX_LINES = 200  # lines offered to a template; a message is not a packing list

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
}


def check_template_text(text: str, *, field: str = "body") -> None:
    """Refuse a text that uses anything beyond the documented variables and syntax, naming the problem."""
    try:
        templating.check_text(text, variables=MESSAGE_VARIABLES, sample=SAMPLE_CONTEXT)
    except templating.TemplateRefused as exc:
        label = "Subject" if field == "subject" else "Body"
        raise templating.TemplateRefused(f"{label}: {exc.message}", details={"field": field}) from exc


@transaction.atomic
def save_template(
    *, tenant, code: str, channel: str, name: str, subject: str, body: str, is_active: bool = True, template=None
) -> MessageTemplate:
    if channel not in Channel.values:
        raise DomainError("Channel must be e-mail or SMS.")
    if not body.strip():
        raise DomainError("The message needs a text.")
    check_template_text(subject, field="subject")
    check_template_text(body, field="body")
    if template is None:
        if MessageTemplate.objects.filter(tenant=tenant, channel=channel, code=code).exists():
            raise DomainError(f"A {channel} template '{code}' already exists.")
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
        for line in order.lines.select_related("product").order_by("pk")[:MAX_LINES]
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
        raise DomainError(f"There is no active {channel} template '{code}'.")
    return template


def _deliver(*, channel: str, to: str, subject: str, body: str) -> tuple[bool, str, str]:
    """Hand the message to the e-mail or SMS backend; returns (ok, error, backend)."""
    backend = ""
    try:
        if channel == Channel.EMAIL:
            backend = settings.EMAIL_BACKEND
            EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]).send()
        else:
            sms = get_backend()
            backend = type(sms).__name__
            sms.send(to=to, text=body)
    except (SmsError, OSError) as exc:
        return False, str(exc)[:2000], backend
    return True, "", backend


def send_customer_message(*, order: Order, channel: str, template_code: str, actor: Actor) -> MessageLog:
    """Render the shop's template for the order, send it to the customer, log it and note it on the timeline."""
    template = _template(order, channel, template_code)
    customer = order.customer
    to = customer.email if channel == Channel.EMAIL else customer.phone
    if not to:
        raise DomainError(f"The customer has no {'e-mail address' if channel == Channel.EMAIL else 'phone number'}.")
    try:
        subject, body = render_message(template, order)
    except templating.TemplateFailed as exc:  # a stored text that cannot render: recorded, nothing sent
        subject, body, ok, error, backend = "", "", False, f"Template '{template_code}': {exc.message}"[:2000], ""
    else:
        ok, error, backend = _deliver(channel=channel, to=to, subject=subject, body=body)
    with transaction.atomic():
        log = MessageLog.objects.create(
            tenant_id=order.tenant_id,
            order=order,
            channel=channel,
            template_code=template_code,
            to=to,
            subject=subject,
            body=body,
            ok=ok,
            error=error,
            backend=backend[:100],
        )
        log_activity(
            order=order,
            kind=ActivityKind.MESSAGE,
            actor=actor,
            changes={"channel": channel, "template": template_code, "to": to, "subject": subject, "sent": ok},
        )
    return log  # a failed send is logged (ok=False), not raised, so the record survives

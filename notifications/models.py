"""Automation tables: time limits, triggers and their log, alerts, tasks, messages, webhooks, delivery windows."""

import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oms import event_catalogue
from oms.models import TenantOwned


class TimeLimit(TenantOwned):
    """The longest an order may stay in one status; past it, the order is overdue and its manager alerted."""

    status = models.ForeignKey("orders.OrderStatus", on_delete=models.CASCADE, related_name="+")
    minutes = models.PositiveIntegerField(help_text="Maximum dwell time in minutes.")
    working_hours_only = models.BooleanField(default=False, help_text="Count only working hours (Mon–Fri).")
    work_starts = models.TimeField(default=datetime.time(9, 0))
    work_ends = models.TimeField(default=datetime.time(18, 0))
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "status"], name="timelimit_one_per_status"),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="timelimit_minutes_positive"),
            models.CheckConstraint(condition=Q(work_ends__gt=F("work_starts")), name="timelimit_work_hours_order"),
        ]

    def __str__(self):
        return f"{self.status_id}: {self.minutes} min"


class OrderDeadline(TenantOwned):
    """When an order's current status runs past its time limit, and whether the sweep has marked it overdue.

    Written only by services/sla.py: planned when the order is created or changes status, re-planned when a limit
    or a holiday changes, marked by the sweep. `started_at` is the order's `status_changed_at` the row was planned
    for, so the mark of an earlier status is void the moment the order moves on, before the event reaches us.
    """

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True, help_text="None: the status has no active limit.")
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="When the sweep found the deadline passed.")

    class Meta:
        indexes = [
            # The sweep's (and the cross-shop due question's) only path: deadlines not yet marked, by time.
            models.Index(
                fields=["due_at"], condition=Q(overdue_at__isnull=True, due_at__isnull=False), name="orderdeadline_due"
            ),
            # "Overdue only" on the order list, and "overdue now" in the SLA report.
            models.Index(
                fields=["tenant", "order"], condition=Q(overdue_at__isnull=False), name="orderdeadline_tenant_overdue"
            ),
        ]

    def __str__(self):
        return f"order {self.order_id} due {self.due_at}"


class Holiday(TenantOwned):
    """A day the shop does not work: time limits counted in working hours skip it like a weekend."""

    day = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="holiday_one_per_day")]

    def __str__(self):
        return f"{self.day} {self.name}".strip()


class Trigger(TenantOwned):
    """When an event of `event_kind` happens and every condition holds, run the actions in order.

    conditions: [{"field", "op", "value"}]; actions: [{"type", "value", "text", "hours"}].
    """

    name = models.CharField(max_length=120)
    event_kind = models.CharField(max_length=40, choices=event_catalogue.CHOICES)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    template_code = models.CharField(max_length=60, blank=True, help_text="The ready-made template it came from.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "event_kind", "is_active"], name="trigger_tenant_kind")]

    def __str__(self):
        return self.name


class RunOutcome(models.TextChoices):
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Some actions failed")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Conditions not met")
    DEPTH_LIMIT = "depth_limit", _("Stopped: chain too deep")


class TriggerRun(TenantOwned):
    """The execution log; UNIQUE (trigger, event) makes a trigger run at most once per event."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey("oms.Event", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    depth = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=RunOutcome.choices)
    results = models.JSONField(default=list)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger", "event"], name="triggerrun_once_per_event")]
        indexes = [models.Index(fields=["tenant", "trigger", "-at"], name="triggerrun_tenant_trigger")]


class Alert(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=300, blank=True)
    # Makes "once per breach" a database rule: one alert per user and key.
    dedupe_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "dedupe_key"], condition=~Q(dedupe_key=""), name="alert_once_per_key"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "user", "-created_at"], name="alert_tenant_user"),
            models.Index(fields=["tenant", "user"], condition=Q(read_at__isnull=True), name="alert_unread"),
        ]


class Task(TenantOwned):
    """Work for a manager (or for everyone of a role), optionally about an order."""

    title = models.CharField(max_length=200)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=20, blank=True, help_text="For a role when nobody in particular.")
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "assignee", "done_at", "due_at"], name="task_tenant_assignee"),
            models.Index(fields=["tenant", "order"], name="task_tenant_order"),
        ]

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at is not None and self.due_at < timezone.now()


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class MessageTemplate(TenantOwned):
    """A per-tenant text, rendered in the Jinja2 sandbox of notifications.templating; {{ tracking_url }} links the page."""

    code = models.SlugField(max_length=60)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["channel", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "channel", "code"], name="messagetemplate_unique_code"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="messagetemplate_channel_valid"),
        ]

    def __str__(self):
        return f"{self.name} ({self.channel})"


class MessageState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class MessageLog(TenantOwned):
    """One message to a customer, and the outbox row that sends it: written queued in the transaction that decided
    to send, sent by a task after commit (`services.messaging.send_queued`), at most once."""

    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    template_code = models.CharField(max_length=60, blank=True)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=MessageState.choices, default=MessageState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Queued: when the next attempt is due. Sending: when the claim lapses (a worker that died mid-send).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    error = models.TextField(blank=True)
    backend = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-at"], name="messagelog_tenant_at"),
            models.Index(
                fields=["next_attempt_at"],
                name="messagelog_due",
                condition=Q(state__in=["queued", "sending"]),
            ),
        ]

    @property
    def ok(self) -> bool:
        """Not failed: sent, or still on its way."""
        return self.state != MessageState.FAILED


class DeliveryWindow(TenantOwned):
    """The promise per delivery method: delivered within days_min–days_max after the order."""

    delivery_method = models.CharField(max_length=60)
    days_min = models.PositiveSmallIntegerField()
    days_max = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["delivery_method"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "delivery_method"], name="deliverywindow_one_per_method"),
            models.CheckConstraint(condition=Q(days_max__gte=F("days_min")), name="deliverywindow_min_le_max"),
        ]


class ShipmentTracking(TenantOwned):
    """What the customer may see about the parcel, taken from `shipment.status_changed` events."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="+")
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    pickup_address = models.TextField(blank=True)
    pickup_hours = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)


class WebhookEndpoint(TenantOwned):
    url = models.URLField(max_length=500)
    events = ArrayField(models.CharField(max_length=40), default=list)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100)
    # After a rotation the old secret keeps signing (second signature) until it expires.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure of the current run.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_tenant_active")]

    def __str__(self):
        return self.url


class WebhookMessage(TenantOwned):
    """The one body of an event: every endpoint and every retry send exactly these bytes."""

    event = models.OneToOneField("oms.Event", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=60)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Gave up")


class WebhookDelivery(TenantOwned):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set when the sweep has put the due attempt on the queue, so the next sweep does not queue it again.
    enqueued_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "message"], name="webhookdelivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="webhookdelivery_due"),
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="webhookdelivery_endpoint"),
        ]


class WebhookAttempt(TenantOwned):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["tenant", "delivery", "-at"], name="webhookattempt_delivery")]

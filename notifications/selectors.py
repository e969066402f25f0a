"""Reads for the notifications screens: tenant-scoped, with the joins each page needs."""

from django.db.models import Count, Exists, OuterRef, Q

from .models import Alert, MessageLog, OrderDeadline, Task, Trigger, TriggerRun, WebhookDelivery, WebhookEndpoint


def order_is_overdue() -> Exists:
    """For an order row: the sweep found its current status's deadline passed (orders shows it as a mark)."""
    return Exists(
        OrderDeadline.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            order_id=OuterRef("pk"),
            started_at=OuterRef("status_changed_at"),
            overdue_at__isnull=False,
        )
    )


def alerts_for(*, tenant, user, unread_only: bool = False):
    qs = Alert.objects.filter(tenant=tenant, user=user).select_related("order").order_by("-created_at", "-pk")
    return qs.filter(read_at__isnull=True) if unread_only else qs


def unread_count(*, tenant, user) -> int:
    return Alert.objects.filter(tenant=tenant, user=user, read_at__isnull=True).count()


def tasks_for(*, tenant, user, role: str, show: str = "open"):
    """My tasks: assigned to me, or to my role with nobody in particular."""
    qs = Task.objects.filter(tenant=tenant).filter(Q(assignee=user) | Q(assignee__isnull=True, role=role))
    if show == "open":
        qs = qs.filter(done_at__isnull=True)
    elif show == "done":
        qs = qs.filter(done_at__isnull=False)
    return qs.select_related("order", "assignee", "done_by").order_by("done_at", "due_at", "-created_at")


def tasks_of_order(*, tenant, order):
    return Task.objects.filter(tenant=tenant, order=order).select_related("assignee").order_by("done_at", "due_at")


def triggers(*, tenant):
    return Trigger.objects.filter(tenant=tenant).annotate(run_count=Count("runs")).order_by("-is_active", "name")


def trigger_runs(*, tenant, trigger=None):
    qs = TriggerRun.objects.filter(tenant=tenant).select_related("trigger", "order", "event").order_by("-at", "-pk")
    return qs.filter(trigger=trigger) if trigger is not None else qs


def endpoints(*, tenant):
    return WebhookEndpoint.objects.filter(tenant=tenant).order_by("-is_active", "pk")


def deliveries(*, tenant, endpoint):
    return (
        WebhookDelivery.objects.filter(tenant=tenant, endpoint=endpoint)
        .select_related("message")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-pk")
    )


def messages_of_order(*, tenant, order):
    return MessageLog.objects.filter(tenant=tenant, order=order).order_by("-at")

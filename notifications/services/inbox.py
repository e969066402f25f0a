"""Alerts (the inbox) and tasks for managers."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from oms.actors import Actor
from oms.errors import DomainError
from oms.i18n import languages_of
from oms.models import Membership, Role

from ..models import Alert, Task

ROLE_VALUES = set(Role.values)


def resolve_recipients(*, tenant, spec: str, order=None) -> list[int]:
    """User ids named by a recipient spec: "manager" (the order's, else every manager), "admins",
    "role:<role>" or "user:<username>". Only active members of the tenant count."""
    spec = (spec or "manager").strip()
    members = Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True)
    if spec == "manager":
        if order is not None and order.manager_id and members.filter(user_id=order.manager_id).exists():
            return [order.manager_id]
        return list(members.filter(role=Role.MANAGER).values_list("user_id", flat=True))
    if spec == "admins":
        return list(members.filter(role__in=[Role.ADMIN, Role.OWNER]).values_list("user_id", flat=True))
    kind, _, value = spec.partition(":")
    if kind == "role" and value in ROLE_VALUES:
        return list(members.filter(role=value).values_list("user_id", flat=True))
    if kind == "user" and value:
        return list(members.filter(user__username=value).values_list("user_id", flat=True))
    raise DomainError(
        gettext("Unknown recipients '%(spec)s': use manager, admins, role:<role> or user:<username>.") % {"spec": spec}
    )


def create_alerts(
    *, tenant, user_ids: list[int], title, body="", order=None, url: str = "", dedupe_key: str = ""
) -> list[Alert]:
    """One alert per user; with a dedupe_key a user gets it at most once. `title` and `body` are the text, or
    functions returning it: those are asked in each recipient's own language (the shop's own words are text)."""
    if not url and order is not None:
        url = f"/orders/{order.pk}/"
    recipients = list(dict.fromkeys(user_ids))
    languages = languages_of(recipients) if callable(title) or callable(body) else {}
    alerts = []
    for user_id in recipients:
        with translation.override(languages.get(user_id)):
            alerts.append(
                Alert(
                    tenant=tenant,
                    user_id=user_id,
                    title=(title() if callable(title) else title)[:200],
                    body=body() if callable(body) else body,
                    order=order,
                    url=url,
                    dedupe_key=dedupe_key,
                )
            )
    return Alert.objects.bulk_create(alerts, ignore_conflicts=bool(dedupe_key))


def mark_read(*, alert: Alert) -> Alert:
    if alert.read_at is None:
        alert.read_at = timezone.now()
        alert.save(update_fields=["read_at"])
    return alert


def mark_all_read(*, tenant, user) -> int:
    return Alert.objects.filter(tenant=tenant, user=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def create_task(
    *,
    tenant,
    title: str,
    actor: Actor,
    assignee=None,
    role: str = "",
    order=None,
    due_at: datetime | None = None,
) -> Task:
    title = (title or "").strip()
    if not title:
        raise DomainError(gettext("A task needs a title."))
    if assignee is not None and not Membership.objects.filter(tenant=tenant, user=assignee, is_active=True).exists():
        raise DomainError(gettext("The assignee is not a member of this shop."))
    if role and role not in ROLE_VALUES:
        raise DomainError(gettext("Unknown role '%(role)s'.") % {"role": role})
    if order is not None and order.tenant_id != tenant.pk:
        raise DomainError(gettext("That order does not belong to this shop."))
    task = Task.objects.create(
        tenant=tenant,
        title=title[:200],
        assignee=assignee,
        role="" if assignee is not None else (role or Role.MANAGER),
        order=order,
        due_at=due_at,
        created_by=actor.name[:150],
    )
    if assignee is not None:
        create_alerts(
            tenant=tenant,
            user_ids=[assignee.pk],
            title=lambda: gettext("New task: %(title)s") % {"title": task.title},
            order=order,
        )
    return task


def task_for_spec(*, tenant, spec: str, order, title: str, due_at, actor: Actor) -> Task:
    """A task for "manager" (the order's manager, else the managers' pool), "role:<role>" or "user:<name>"."""
    spec = (spec or "manager").strip()
    User = get_user_model()
    if spec == "manager":
        if order is not None and order.manager_id:
            return create_task(
                tenant=tenant, title=title, actor=actor, assignee=order.manager, order=order, due_at=due_at
            )
        return create_task(tenant=tenant, title=title, actor=actor, role=Role.MANAGER, order=order, due_at=due_at)
    kind, _, value = spec.partition(":")
    if kind == "role":
        return create_task(tenant=tenant, title=title, actor=actor, role=value, order=order, due_at=due_at)
    if kind == "user":
        user = User.objects.filter(username=value, memberships__tenant=tenant).first()
        if user is None:
            raise DomainError(gettext("No member '%(username)s' in this shop.") % {"username": value})
        return create_task(tenant=tenant, title=title, actor=actor, assignee=user, order=order, due_at=due_at)
    raise DomainError(
        gettext("Unknown assignee '%(spec)s': use manager, role:<role> or user:<username>.") % {"spec": spec}
    )


def set_task_done(*, task: Task, done: bool, user) -> Task:
    """Tick a task off, or reopen it."""
    if done and task.done_at is None:
        task.done_at, task.done_by = timezone.now(), user
    elif not done:
        task.done_at, task.done_by = None, None
    task.save(update_fields=["done_at", "done_by"])
    return task

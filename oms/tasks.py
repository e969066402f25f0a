from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import events, jobs, rls, system
from .models import IdempotencyKey, Tenant
from .observability import beat_heartbeat

SWEEP_BATCH = 500


@shared_task(acks_late=True)
def dispatch_event(event_id: int, tenant_id: int | None = None) -> bool:
    return events.dispatch(event_id, tenant_id)


@shared_task(acks_late=True)
def dispatch_tenant(tenant_id: int) -> int:
    """Work through the tenant's due events (see `events.kick`); safe to run twice or side by side."""
    from django.core.cache import cache

    cache.delete(events.kick_key(tenant_id))  # from here on, a new event queues the next run
    return events.dispatch_due(tenant_id)


@shared_task(acks_late=True)
def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch a batch of outbox events (as `dispatch_event` does one); safe to repeat."""
    for event_id in event_ids:
        events.dispatch(event_id)
    return len(event_ids)


@shared_task(acks_late=True)
def sweep_outbox(older_than_seconds: int = 30) -> int:
    """Re-dispatch events left behind (worker down, broker lost the message, a subscriber failed)."""
    stale_before = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = [row[0] for row in rls.system_rows(system.stale_events, stale_before, SWEEP_BATCH)]
    for event_id in ids:
        events.dispatch(event_id)
    return len(ids)


@shared_task
def purge_idempotency_keys() -> int:
    return rls.each_tenant(
        Tenant.objects.values_list("pk", flat=True),
        lambda _: IdempotencyKey.objects.filter(created_at__lt=timezone.now() - timedelta(hours=48)).delete()[0],
        what="Purging idempotency keys",
    )


@shared_task
def heartbeat() -> None:
    """Run by a worker on beat's schedule; /healthz reads how long ago it last ran."""
    beat_heartbeat()


@shared_task(acks_late=True)
def run_job(job_id: int) -> bool:
    """A job a person started from a page (export, rebuild); safe to run twice (only a queued job is taken)."""
    tenant_id = rls.system_value(system.job_tenant, job_id)
    if tenant_id is None:
        return False
    with rls.tenant_context(tenant_id):
        return jobs.run(job_id) is not None


@shared_task
def purge_job_files() -> int:
    """Beat: finished jobs' files are kept a day (an export holds the whole shop; it should not linger)."""
    return rls.each_tenant(
        Tenant.objects.values_list("pk", flat=True),
        lambda _: jobs.purge_files(older_than=timezone.now() - jobs.FILES_KEPT),
        what="Purging job files",
    )


@shared_task(acks_late=True)
def email_password_link(membership_id: int, tenant_id: int, language: str = "") -> bool:
    """E-mail a person of the shop a fresh one-time link to set a password (`staff.email_password_link`)."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import translation
    from django.utils.translation import gettext

    from .db import ensure_no_transaction
    from .models import Membership
    from .staff import own_login, password_path

    with rls.tenant_context(tenant_id):
        membership = Membership.objects.select_related("user", "tenant").filter(pk=membership_id).first()
        if membership is None or not membership.is_active or not own_login(membership) or not membership.user.email:
            return False  # changed since it was asked for: nothing to send
        user, shop = membership.user, membership.tenant.name
        link = settings.SITE_URL.rstrip("/") + password_path(user)
    ensure_no_transaction("E-mailing a password link")
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = gettext("%(shop)s: set your password") % {"shop": shop}
        body = gettext(
            "Hello %(username)s,\n\nYou have been given access to %(shop)s. Set your password here (the link works "
            "once):\n\n%(link)s\n\nIf you did not expect this, ignore this e-mail."
        ) % {"username": user.username, "shop": shop, "link": link}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True

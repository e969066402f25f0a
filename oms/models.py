"""Core tables: tenants, memberships with roles, API tokens, the event outbox."""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    PACKER = "packer", _("Packer")
    COURIER = "courier", _("Courier")


class Tenant(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    # Company details printed on documents.
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    tax_id = models.CharField(max_length=50, blank=True)
    round_robin_assignment = models.BooleanField(default=False)
    # Orders waiting for stock are reserved the moment it arrives (purchase order, transfer, receipt).
    serve_waiting_on_arrival = models.BooleanField(default=True)

    def __str__(self):
        return self.name


class TenantOwnedQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)


class TenantOwned(models.Model):
    """Base of every table that belongs to one shop; `objects.for_tenant(t)` is the normal way in."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.tenant} ({self.role})"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(TenantOwned):
    """A bearer token acting inside one tenant. Only the SHA-256 of the secret is stored."""

    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token in lists.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"], name="apitoken_tenant_created")]

    @staticmethod
    def generate() -> str:
        return "oms_" + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Event(TenantOwned):
    """The transactional outbox: written with the change, dispatched to subscribers after commit."""

    kind = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When the sweep may try it (again): a claim pushes it ahead by a lease, a failure by a growing back-off,
    # so an event that keeps failing waits its turn instead of starving newer ones.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    failed_at = models.DateTimeField(null=True, blank=True)  # gave up after MAX_ATTEMPTS; an admin may retry

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="event_due",
                condition=models.Q(dispatched_at__isnull=True, failed_at__isnull=True),
            ),
            models.Index(fields=["tenant", "kind", "created_at"], name="event_tenant_kind"),
        ]

    def __str__(self):
        return f"{self.kind}#{self.pk}"


class EventHandled(models.Model):
    """One row per (event, subscriber) that has run: makes every subscriber idempotent by event id."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="handled")
    subscriber = models.CharField(max_length=200)
    handled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "subscriber"], name="eventhandled_once_per_subscriber")]


class IdempotencyKey(TenantOwned):
    """Remembers the first answer to an API write so a retried request gets it again."""

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scope", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]


class Preferences(models.Model):
    """A person's own choices, the same in every shop they work for: the language of the interface."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)


class StaffChange(TenantOwned):
    """The owner's audit list of who changed whose access, and how."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=30)
    details = models.JSONField(default=dict)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-at"], name="staffchange_tenant_at")]


def private_storage():
    return storages["private"]


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(TenantOwned):
    """Long work a person started from a page (the owner's export, an analytics rebuild): run by a task on the
    reports queue, its progress polled by the page, its result (a file, a line of text) offered when ready."""

    kind = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    result = models.CharField(max_length=300, blank=True)  # the outcome in one line
    result_file = models.FileField(upload_to="jobs/%Y/%m/", blank=True, storage=private_storage)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "kind", "-created_at"], name="job_tenant_kind_created")]
        constraints = [
            # One export (or rebuild) of a shop at a time: a second click joins the running one.
            models.UniqueConstraint(
                fields=["tenant", "kind"],
                condition=models.Q(state__in=["queued", "running"]),
                name="job_one_running_per_kind",
            ),
        ]

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    def progress(self) -> tuple[int, str]:
        """(percent, what it is doing now) while it runs; kept in the cache, since a runner may hold a long
        transaction whose writes the polling page could not see."""
        if self.state == JobState.DONE:
            return 100, ""
        if self.state != JobState.RUNNING:
            return 0, ""
        return cache.get(progress_key(self.pk)) or (0, "")


def progress_key(job_id: int) -> str:
    return f"job-progress:{job_id}"

"""Long work started from a page, run by a task, its progress shown while it runs.

An app registers a kind of job with what runs it (`register_job`); `start_job` writes the row (one running job per
shop and kind: a second start returns the running one) and queues `oms.tasks.run_job` after commit; the page polls
the job's fragment until it is done. A runner reports progress through the `Progress` it is given and returns a
`JobResult`: a line to show, and optionally a file to offer for download.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from .errors import DomainError
from .events import enqueue_after_commit, send_task
from .i18n import languages_of
from .models import Job, JobState, Tenant, progress_key

logger = logging.getLogger(__name__)
INTERRUPTED_AFTER = timedelta(hours=2)  # no export or rebuild runs this long
REQUEUE_AFTER = timedelta(minutes=2)
FILES_KEPT = timedelta(days=1)


@dataclass
class JobResult:
    summary: str
    file: File | None = None
    filename: str = ""


class Progress:
    """What a runner calls as it goes; the polling page reads it (see `Job.progress`)."""

    def __init__(self, job: Job):
        self.job = job

    def __call__(self, percent: int, step: str = "") -> None:
        percent = max(0, min(int(percent), 99))  # 100 is for done
        cache.set(progress_key(self.job.pk), (percent, step[:200]), timeout=int(INTERRUPTED_AFTER.total_seconds()))


@dataclass(frozen=True)
class JobKind:
    label: str
    run: Callable[[Tenant, Progress], JobResult]


_kinds: dict[str, JobKind] = {}


def register_job(kind: str, *, label: str, run: Callable[[Tenant, Progress], JobResult]) -> None:
    _kinds[kind] = JobKind(label=label, run=run)


def kind_label(kind: str) -> str:
    return _kinds[kind].label if kind in _kinds else kind


def start_job(*, tenant: Tenant, kind: str, user=None) -> Job:
    """Queue the job, or return the one of this kind already queued or running for the shop."""
    if kind not in _kinds:
        raise DomainError(gettext("Unknown kind of job '%(kind)s'.") % {"kind": kind})
    try:
        with transaction.atomic():
            job = Job.objects.create(tenant=tenant, kind=kind, requested_by=user)
            from .tasks import run_job

            enqueue_after_commit(run_job, job.pk)
            return job
    except IntegrityError:
        running = latest_job(tenant=tenant, kind=kind)
        if running is None or running.finished:  # it finished in between: start afresh
            return start_job(tenant=tenant, kind=kind, user=user)
        if running.state == JobState.RUNNING and running.started_at < timezone.now() - INTERRUPTED_AFTER:
            # Its worker died: free the place and start again.
            Job.objects.filter(pk=running.pk, state=JobState.RUNNING).update(
                state=JobState.FAILED, error="It was interrupted.", finished_at=timezone.now()
            )
            return start_job(tenant=tenant, kind=kind, user=user)
        if running.state == JobState.QUEUED and running.created_at < timezone.now() - REQUEUE_AFTER:
            from .tasks import run_job

            send_task(run_job, running.pk)  # the broker may have lost it; running it twice is harmless
        return running


def latest_job(*, tenant: Tenant, kind: str) -> Job | None:
    return Job.objects.filter(tenant=tenant, kind=kind).order_by("-created_at", "-pk").first()


def run(job_id: int) -> Job | None:
    """Run a queued job (the task; safe to run twice: only a queued job is taken)."""
    now = timezone.now()
    if not Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(state=JobState.RUNNING, started_at=now):
        return None
    job = Job.objects.select_related("tenant").get(pk=job_id)
    # Its steps and result are read by the person who started it: written in their language.
    language = languages_of([job.requested_by_id])[job.requested_by_id] if job.requested_by_id else None
    try:
        with translation.override(language):
            outcome = _kinds[job.kind].run(job.tenant, Progress(job))
    except Exception as exc:  # noqa: BLE001 - the page shows that it failed; the log has the details
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        with translation.override(language):
            message = exc.message if isinstance(exc, DomainError) else gettext("It stopped on an unexpected error.")
        Job.objects.filter(pk=job.pk).update(state=JobState.FAILED, error=message, finished_at=timezone.now())
        return job
    if outcome.file is not None:
        with outcome.file:
            job.result_file.save(outcome.filename, outcome.file, save=False)
    job.state, job.result, job.finished_at = JobState.DONE, outcome.summary[:300], timezone.now()
    job.save(update_fields=["state", "result", "result_file", "finished_at"])
    return job


def purge_files(*, older_than) -> int:
    """Delete the files of jobs finished before `older_than` (the row stays, without its file)."""
    removed = 0
    for job in Job.objects.filter(finished_at__lt=older_than).exclude(result_file=""):
        job.result_file.delete(save=True)
        removed += 1
    return removed

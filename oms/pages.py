"""How pages run a service and tell the user a domain error: the one place every app's views do it.

A refusal (`DomainError`) means nothing was written. It shows next to the form field it is about, or as an error
message: full pages print the messages in `base.html`, htmx partials in the out-of-band `oms/_messages.html`.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from .actors import Actor
from .errors import DomainError
from .jobs import kind_label

__all__ = ["NON_FIELD_ERRORS", "job_answer", "job_context", "run_service", "show_error"]


def show_error(request, exc: DomainError, *, form=None, field: str | None = None) -> None:
    """Put the error next to the form's field it names (`exc.field`), else next to `field` (NON_FIELD_ERRORS: above
    the form); an error that fits no field of the form, or comes without a form, becomes an error message."""
    if form is not None:
        for name in (exc.field, field):
            if name == NON_FIELD_ERRORS:
                form.add_error(None, exc.message)
                return
            if name and name in form.fields:
                form.add_error(name, exc.message)
                return
    messages.error(request, exc.message)


def run_service(
    request,
    action: Callable[[Actor], Any],
    success: str | Callable[[Any], str] | None = None,
    *,
    form=None,
    field: str | None = None,
    notify: bool = True,
) -> tuple[bool, Any]:
    """Call `action(actor)`; returns (True, its result) or, on a domain error, (False, the error).

    The error is shown as `show_error` says, unless `notify` is False (a scan screen answers with it itself).
    `success` is our own format string (`"Order {result.number} created."`), or a function of the result when
    the text holds anything users typed: `str.format` on user text would let a `{result.…}` walk objects.
    """
    try:
        result = action(Actor.of_request(request))
    except DomainError as exc:
        if notify:
            show_error(request, exc, form=form, field=field)
        return False, exc
    if callable(success):
        messages.success(request, success(result))
    elif success:
        messages.success(request, success.format(result=result))
    return True, result


def job_context(job) -> dict:
    """What the job fragment (`oms/_job.html`) shows; `job` may be None (never run)."""
    percent, step = job.progress() if job else (0, "")
    return {"job": job, "percent": percent, "step": step}


def job_answer(request, job, *, back: str):
    """The answer to starting a job: its fragment for htmx (it polls itself until done); a plain form post goes back
    to the page, which shows the job too."""
    if request.htmx:
        return render(request, "oms/_job.html", job_context(job))
    messages.success(
        request, gettext("%(job)s started; this page shows when it is ready.") % {"job": kind_label(job.kind)}
    )
    return redirect(back)

import os

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from . import events, jobs, services, staff
from .i18n import SESSION_LANGUAGE_KEY
from .lifecycle import EXPORT_JOB
from .models import ApiToken, Event, Job, JobState, Membership
from .pages import job_answer, job_context, run_service
from .tenancy.middleware import SESSION_TENANT_KEY, user_memberships
from .tenancy.navigation import settings_links_for, start_screen_for
from .tenancy.roles import OWNER, SETTINGS, role_required
from .tenancy.shortcuts import get_for_tenant_or_404

FAILED_EVENTS_SHOWN = 50


@login_required
def home(request):
    if request.tenant is None:
        return redirect("oms:choose_tenant")
    start = start_screen_for(request.role)
    if start is None:
        raise PermissionDenied("Your role has no screen in this shop.")
    return redirect(start)


class LoginForm(AuthenticationForm):
    """Django's login form checks no length of the name (its field's limit is only the input's): a longer one went on
    to the throttle's record of the failure, whose column it overflowed (a 500). It fails as a wrong login does."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is not None and len(username) > self.fields["username"].max_length:
            raise self.get_invalid_login_error()
        return super().clean()


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)


@login_required
def account(request):
    """The person's own page, in every shop: interface language, and the way to change the password."""
    current = getattr(request.user, "preferences", None)
    form = LanguageForm(
        request.POST or None, initial={"language": current.language if current else translation.get_language()}
    )
    if request.method == "POST" and form.is_valid():
        ok, preferences = run_service(
            request,
            lambda actor: services.set_language(user=request.user, language=form.cleaned_data["language"]),
            form=form,
            field="language",
        )
        if ok:
            request.session[SESSION_LANGUAGE_KEY] = preferences.language
            translation.activate(preferences.language)
            messages.success(request, _("Language saved."))
            return redirect("oms:account")
    return render(request, "oms/account.html", {"form": form})


@login_required
def choose_tenant(request):
    memberships = user_memberships(request.user)
    if request.method == "POST":
        chosen = request.POST.get("tenant")
        if any(str(m.tenant_id) == chosen for m in memberships):
            request.session[SESSION_TENANT_KEY] = int(chosen)
            return redirect("home")
        messages.error(request, _("Choose one of your shops."))
    return render(request, "oms/choose_tenant.html", {"memberships": memberships})


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="default")


def _settings_page(request, *, new_token: str | None = None):
    tokens = ApiToken.objects.for_tenant(request.tenant).order_by("-created_at")
    members = list(
        Membership.objects.for_tenant(request.tenant).select_related("user").order_by("role", "user__username")
    )
    own = staff.own_logins(request.tenant.pk, [member.user for member in members])
    for member in members:
        member.own_login = member.user_id in own  # a shared login's e-mail is its person's, as on the staff screen
    context = {
        "tokens": tokens,
        "members": members,
        "token_form": ApiTokenForm(),
        "new_token": new_token,
        "settings_links": settings_links_for(request.role),
        "export": job_context(jobs.latest_job(tenant=request.tenant, kind=EXPORT_JOB)),
        "failed_events": Event.objects.filter(tenant=request.tenant, failed_at__isnull=False).order_by("-failed_at")[
            :FAILED_EVENTS_SHOWN
        ],
    }
    return render(request, "oms/settings.html", context)


@require_POST
@role_required(*SETTINGS)
def events_retry(request):
    """Give failed events (one, or every one shown) a fresh set of attempts."""
    # int() refuses 4,300+ digits; no event id is longer than 18
    ids = [int(i) for i in request.POST.getlist("event") if i.isdecimal() and len(i) < 19][:FAILED_EVENTS_SHOWN]
    retried = events.retry_failed(tenant=request.tenant, event_ids=ids)
    if retried:
        messages.success(
            request,
            ngettext("%(n)d event queued again.", "%(n)d events queued again.", retried) % {"n": retried},
        )
    else:
        messages.error(request, _("Nothing to retry: the events are no longer failed."))
    return redirect("oms:settings")


@role_required(*SETTINGS)
def settings_home(request):
    return _settings_page(request)


@require_POST
@role_required(*SETTINGS)
def api_token_create(request):
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the token a name of at most 100 characters."))
        return redirect("oms:settings")
    ok, created = run_service(
        request,
        lambda actor: services.create_api_token(
            tenant=request.tenant, name=form.cleaned_data["name"], actor=request.user
        ),
        success=lambda made: (
            _("Token “%(name)s” created. Copy it now: it will not be shown again.") % {"name": made[0].name}
        ),
    )
    if not ok:
        return redirect("oms:settings")
    return _settings_page(request, new_token=created[1])


@require_POST
@role_required(*SETTINGS)
def api_token_revoke(request, pk):
    token = get_for_tenant_or_404(ApiToken, request.tenant, pk=pk)
    services.revoke_api_token(token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("oms:settings")


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


@require_POST
@role_required(OWNER)
def export_data(request):
    """Start preparing the owner's copy of everything the shop keeps here (a task; the page shows its progress)."""
    job = jobs.start_job(tenant=request.tenant, kind=EXPORT_JOB, user=request.user)
    return job_answer(request, job, back="oms:settings")


@role_required(OWNER)
def job_status(request, pk):
    job = get_for_tenant_or_404(Job, request.tenant, pk=pk)
    response = render(request, "oms/_job.html", job_context(job))
    if job.finished:
        response["HX-Trigger"] = "job-finished"  # parts of the page that show the job's effect refresh themselves
    return response


@role_required(OWNER)
def job_download(request, pk):
    job = get_for_tenant_or_404(Job, request.tenant, pk=pk, state=JobState.DONE)
    if not job.result_file:
        raise Http404("This job has no file.")
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is no longer kept; start it again.") from None
    return FileResponse(handle, as_attachment=True, filename=os.path.basename(job.result_file.name))


@require_POST
@role_required(*SETTINGS)
def serve_waiting(request):
    enabled = request.POST.get("enabled") == "on"
    services.set_serve_waiting(tenant=request.tenant, enabled=enabled)
    messages.success(
        request,
        _("Orders waiting for stock are now reserved the moment it arrives.")
        if enabled
        else _("Arriving stock no longer reserves waiting orders by itself; reserve them from the order page."),
    )
    return redirect("oms:settings")


@require_POST
@role_required(*SETTINGS)
def round_robin(request):
    enabled = request.POST.get("enabled") == "on"
    services.set_round_robin(tenant=request.tenant, enabled=enabled)
    messages.success(
        request,
        _("New orders are now shared among managers in turn.")
        if enabled
        else _("New orders are no longer assigned automatically."),
    )
    return redirect("oms:settings")


def favicon(request):
    """The classic icon path, asked for by a browser showing a PDF (no page to name the icon); resolved per request,
    so the hashed static name exists only after collectstatic."""
    from django.http import HttpResponsePermanentRedirect
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("oms/favicon.svg"))

"""The interface speaks each person's chosen language: kept in their preferences, carried in the session.

Anonymous pages (log-in) follow the browser's Accept-Language through Django's LocaleMiddleware; once a person
logs in, their own choice wins on every page, whatever the browser says.

The REST API (`/api/…`) always answers in English: its messages are part of the contract with integrators, so
neither a session's language nor an Accept-Language header may change them (`oms.api_shortcut`, whose calls skip
this middleware).
"""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

SESSION_LANGUAGE_KEY = "language"


class UserLanguageMiddleware:
    """After authentication: the logged-in person's language (from the session, so no query per request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.session.get(SESSION_LANGUAGE_KEY) if request.user.is_authenticated else None
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


@receiver(user_logged_in)
def remember_language_in_session(sender, request, user, **kwargs):
    from .models import Preferences

    language = Preferences.objects.filter(user=user).values_list("language", flat=True).first()
    if language and request is not None and hasattr(request, "session"):
        request.session[SESSION_LANGUAGE_KEY] = language


def languages_of(user_ids) -> dict[int, str]:
    """Each person's interface language, for texts written for them outside a request (alerts from a sweep)."""
    from django.conf import settings

    from .models import Preferences

    user_ids = set(user_ids)
    chosen = dict(Preferences.objects.filter(user_id__in=user_ids).values_list("user_id", "language"))
    return {user_id: chosen.get(user_id, settings.LANGUAGE_CODE) for user_id in user_ids}

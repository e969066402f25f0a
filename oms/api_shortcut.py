"""API calls skip the pages' middleware.

A call under `/api/` proves who it is by its bearer token, binds its shop from that token and answers JSON in
English (`oms.api`). Sessions, the logged-in person, CSRF cookies, flash messages, htmx, the shop chosen in a
session, login throttling and static files are the pages' business, and walking them cost an API call about a
twentieth of its CPU. `ApiShortcut` sends such a call from its place in `MIDDLEWARE` straight to `ApiShortcutEnd`,
the last middleware, which hands it to the view; every other request takes the whole chain. What an API call still
needs of the skipped middleware is done here.

The middleware before `ApiShortcut` (request id, security headers, NUL refusal, CSP, framing) run for every request.
"""

import threading

from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from .tenancy.middleware import start_unbound

API_PATH_PREFIX = "/api/"
API_LANGUAGE = "en"  # the API contract's language, whoever asks: its messages are part of the contract

# Django builds the chain from the last middleware to the first, on one thread: the end is built before the
# shortcut that jumps to it.
_building = threading.local()


def is_api_call(request) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX)


class ApiShortcutEnd:
    """The last middleware: what comes after it is the view."""

    def __init__(self, get_response):
        self.get_response = get_response
        _building.end = get_response

    def __call__(self, request):
        return self.get_response(request)


class ApiShortcut:
    def __init__(self, get_response):
        self.get_response = get_response
        self.to_view = getattr(_building, "end", None)
        _building.end = None  # a chain built later must find its own end
        if self.to_view is None:
            raise ImproperlyConfigured("ApiShortcut needs oms.api_shortcut.ApiShortcutEnd last in MIDDLEWARE.")

    def __call__(self, request):
        if not is_api_call(request):
            return self.get_response(request)
        start_unbound(request)  # as TenantMiddleware leaves a request with no person: the token names the shop
        translation.activate(API_LANGUAGE)
        request.LANGUAGE_CODE = API_LANGUAGE
        response = self.to_view(request)
        response.headers.setdefault("Content-Language", API_LANGUAGE)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response

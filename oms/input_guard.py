"""Refuse a request that carries a NUL character in its path, query string, headers or form: no field of ours can
hold one (PostgreSQL text cannot), and refusing it here, once, spares every filter, form and header reader from
meeting it as a database error. (The API's bodies are the API parser's, oms.api.StrictParser: it takes JSON only and
refuses a NUL in it. Its form is never read here, since reading a multipart form would consume the body the parser
reads.)"""

from django.http import HttpResponseBadRequest, JsonResponse

from .api import error_body

MESSAGE = "The request contains a NUL character, which no field accepts. Remove it and try again."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIX = "/api/"


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in data.getlist(key)) for key in data)


class RefuseNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith(API_PREFIX)
        if (
            "\x00" in request.path
            or _has_nul(request.GET)
            or any("\x00" in value for value in request.headers.values())
            or (not api and request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request.POST))
        ):
            if api:  # the API's own error shape (shared/API.md)
                return JsonResponse(error_body("invalid", MESSAGE), status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

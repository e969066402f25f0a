"""Refuse a request that carries a NUL character in its path, query string, headers, form or JSON body: no field
of ours can hold one (PostgreSQL text cannot), and refusing it here, once, spares every filter, form and header
reader from meeting it as a database error."""

import json

from django.http import HttpResponseBadRequest, JsonResponse

MESSAGE = "The request contains a NUL character, which no field accepts. Remove it and try again."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in data.getlist(key)) for key in data)


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(key) or _json_has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


def _body_has_nul(request) -> bool:
    if request.method not in ("POST", "PUT", "PATCH"):
        return False
    if request.content_type in FORM_TYPES:
        return _has_nul(request.POST)
    if request.content_type == "application/json":
        body = request.body
        if b"\\u0000" not in body.lower():  # the cheap test first: intake bodies almost never carry the escape
            return False
        try:
            return _json_has_nul(json.loads(body))
        except ValueError:
            return False  # not JSON: the API's own parser answers that
    return False


class RefuseNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            "\x00" in request.path
            or _has_nul(request.GET)
            or any("\x00" in value for value in request.headers.values())
            or _body_has_nul(request)
        ):
            if request.path.startswith("/api/"):  # the API's own error shape (shared/API.md)
                error = {"code": "invalid", "message": MESSAGE, "details": {}}
                return JsonResponse({"error": error}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

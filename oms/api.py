"""The public REST API, version 1: bearer tokens, the contract's error shape, list pagination.

django-ninja: typed schemas give an accurate OpenAPI document (which the fuzzing tests rely on) with little
code, and it runs as plain Django views.
"""

import datetime
import functools
import re
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.urls import re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import BaseModel, BeforeValidator, WithJsonSchema, model_validator

from . import rls
from .db import HotQuery
from .errors import DomainError, UnsupportedMediaType
from .models import ApiToken, hash_token
from .observability import tenant_var

MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # past it the offset would not fit the database's integers
DEFAULT_PAGE_SIZE = 50
TOKEN_TOUCH_SECONDS = 60


class OutputSchema(BaseModel):
    """The shape of an answer, for the OpenAPI document and as a check on what goes out. Views build their answers
    as dicts, which pydantic checks in its compiled core; ninja's `Schema` would first wrap every nested object in
    an attribute reader written in Python (for model instances, which no answer passes), a tenth of an API call."""


class ErrorBody(OutputSchema):
    code: str
    message: str
    details: dict


class Error(OutputSchema):
    error: ErrorBody


# Read on every API call.
_live_token = HotQuery(
    lambda token_hash: (
        ApiToken.objects.select_related("tenant")
        .filter(token_hash=token_hash, revoked_at__isnull=True)
        .order_by("pk")[:1]
    ),
    prepared=True,  # one row by a unique key, with its shop
    token_hash="sample-token-hash",
)


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        token_hash = hash_token(token)
        rls.bind_to_token(token_hash)  # the token's shop is found by the binding of the statement that reads it
        api_token = _live_token.first(token_hash=token_hash)
        rls.bind(api_token and api_token.tenant_id)  # the next request's middleware binds the connection afresh
        if api_token is None:
            return None
        request.tenant = api_token.tenant
        tenant_var.set(api_token.tenant.slug)
        now = timezone.now()
        if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.api_token = api_token
        return api_token


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _is_json(content_type: str) -> bool:
    # No Content-Type at all is read as JSON: only a body that says it is something else is refused.
    return content_type in ("", "application/json") or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


class StrictParser(Parser):
    """The API takes JSON only, and PostgreSQL text cannot hold NUL characters: both are refused up front instead of
    failing later (a form body, its parts or a database error)."""

    def parse_body(self, request):
        if not _is_json(request.content_type or ""):
            raise UnsupportedMediaType(
                f"The API takes JSON only: send the body with Content-Type: application/json, "
                f"not {request.content_type}.",
                details={"content_type": request.content_type},
            )
        body = super().parse_body(request)
        if _has_nul(body):
            raise DomainError("Text must not contain NUL characters.")
        return body

    def parse_querydict(self, data, list_fields, request):
        parsed = super().parse_querydict(data, list_fields, request)
        if _has_nul(parsed):
            raise DomainError("Parameters must not contain NUL characters.")
        return parsed


class InputSchema(Schema):
    """A JSON object of a request body. ninja's Schema reads the attributes of whatever it is given, so a string or a
    list would pass as an object with every field unset: anything but an object is refused."""

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values, handler, info):
        # Named as ninja's own validator, which this one replaces and then calls: it turns the value into an attribute
        # reader, after which no validator could tell what the value was.
        if not isinstance(values, dict):
            raise ValueError("must be a JSON object")
        return super()._run_root_validator(values, handler, info)


MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]{1,2})?$"
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def parse_money(value: Any) -> Decimal:
    """The contract's money: a string of ASCII digits with at most two decimals ("19.90"). Numbers, booleans,
    exponents, digit separators and other scripts' digits are refused, not guessed at."""
    if isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value):
        return Decimal(value)
    raise ValueError('must be a decimal string with at most two decimals, such as "19.90"')


def parse_iso_date(value: Any) -> datetime.date:
    """An ISO 8601 date string (YYYY-MM-DD); a number is not read as a timestamp."""
    if isinstance(value, str) and re.fullmatch(ISO_DATE_PATTERN, value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be an ISO 8601 date such as 2026-01-31")


# Every sum of money the API takes, whatever its bounds (added with Field at the place of use).
Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["19.90"]}),
]
IsoDate = Annotated[
    datetime.date,
    BeforeValidator(parse_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-01-31"]}),
]


ROOT_URL_NAME = "api-root"  # ninja reverses it for the API's base path


class OmsApi(NinjaAPI):
    def _get_urls(self):
        """Every answer under the API's path is in the contract's error shape: ninja's bare 405 and Django's HTML 404
        (an unknown path, a trailing slash) included. ninja's root route (an HTML 404 naming the docs) gives way to
        the last route, which answers every path the others do not, under the same name (ninja reverses it)."""
        urls = [pattern for pattern in super()._get_urls() if pattern.name != ROOT_URL_NAME]
        for pattern in urls:
            pattern.callback = _in_error_shape(pattern.callback)
        return [*urls, re_path(r"^", path_not_found, name=ROOT_URL_NAME)]

    def get_openapi_schema(self, *args, **kwargs):
        """Answers every operation can give whatever its body: the document says so, in the error shape."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "responses" in operation:
                    for status, description in COMMON_ERRORS.items():
                        operation["responses"].setdefault(status, _error_response(description))
        return schema


COMMON_ERRORS = {
    400: "The body is not JSON",
    401: "Missing, invalid or revoked bearer token",
    413: "The body is larger than the API takes",
    415: "The body is not sent as JSON",
    422: "A parameter or the body is not valid",
}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


api = OmsApi(
    title="OMS API",
    version="1",
    urls_namespace="api",
    parser=StrictParser(),
    auth=BearerToken(),
    openapi_url="/openapi.json",
    docs_url=None,  # the interactive page needs inline script and a CDN; the OpenAPI document is enough
)


def error_body(code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    """Every service refusal, of every app, answers in the contract's shape with its own code and status."""
    return api.create_response(request, error_body(exc.code, exc.message, exc.details), status=exc.status)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return api.create_response(
        request, error_body("payload_too_large", "The request body is larger than the API takes."), status=413
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(request, error_body("unauthorized", "A valid bearer token is required."), status=401)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, error_body("not_found", "No such object."), status=404)


@api.exception_handler(NinjaValidationError)
def on_invalid(request, exc: NinjaValidationError):
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload")),
            "message": err.get("msg"),
        }
        for err in exc.errors
    ]
    return api.create_response(
        request, error_body("invalid", "The request is not valid.", {"errors": errors}), status=422
    )


@api.exception_handler(DjangoValidationError)
def on_model_invalid(request, exc: DjangoValidationError):
    return api.create_response(
        request, error_body("invalid", "; ".join(exc.messages), {"errors": exc.messages}), status=422
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, DomainError):  # ninja wraps the parser's refusal; its own words are the clear ones
        return on_domain_error(request, exc.__cause__)
    code = {400: "bad_request", 405: "method_not_allowed", 409: "conflict"}.get(exc.status_code, "error")
    return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


@csrf_exempt  # like ninja's own views: no cookie session is used, so a POST here meets the 404, not a CSRF 403
def path_not_found(request):
    message = f"Nothing is at {request.path}: see /api/v1/openapi.json for the paths (none ends with /)."
    return api.create_response(request, error_body("not_found", message), status=404)


def _in_error_shape(view):
    """ninja answers a method a path does not take with a plain-text 405: the same, in the contract's shape."""

    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(m.strip() for m in response["Allow"].split(","))
            message = f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}."
            refused = on_http_error(request, HttpError(405, message))
            refused["Allow"] = response["Allow"]
            return refused
        return response

    return answer


def page_params(request) -> tuple[int, int]:
    try:
        page = int(request.GET.get("page", 1))
        page_size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError as exc:
        raise DomainError("page and page_size must be whole numbers.") from exc
    if not 1 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise DomainError(f"page must be between 1 and {MAX_PAGE:,} and page_size between 1 and {MAX_PAGE_SIZE}.")
    return page, page_size


def paginate(request, queryset, serialize, *, count_all: bool = True) -> dict[str, Any]:
    """The contract's list shape: {"results", "count", "next"}; `serialize` maps a row to a dict.

    `count_all=False` for a list that may hold millions of rows: no COUNT(*); one row more than the page tells
    whether a next page exists (as the screens' lists do). `count` is then exact on the last page (`next` null) and,
    before it, a lower bound: the rows up to this page and one more (LOWER_BOUND_COUNT). Only a page past the end,
    which tells nothing, counts.
    """
    page, page_size = page_params(request)
    start = (page - 1) * page_size
    if count_all:
        count = queryset.count()
        rows = list(queryset[start : start + page_size])
        more = start + page_size < count
    else:
        rows = list(queryset[start : start + page_size + 1])
        more = len(rows) > page_size
        rows = rows[:page_size]
        # Past the last page the rows say nothing of how many there are: only that case counts them.
        count = start + len(rows) + (1 if more else 0) if rows or page == 1 else queryset.count()
    next_url = None
    if more:
        query = request.GET.copy()
        query["page"] = page + 1
        query["page_size"] = page_size
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {"results": [serialize(row) for row in rows], "count": count, "next": next_url}


LOWER_BOUND_COUNT = (
    "The number of matching objects when `next` is null (this is the last page). Before the last page, a lower "
    "bound: the objects up to this page and at least one more. Follow `next` until it is null to read them all."
)

"""Request ids, JSON log lines with request id and tenant, and the health check."""

import contextvars
import json
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
tenant_var: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="-")
HEARTBEAT_KEY = "worker-heartbeat"
HEARTBEAT_STALE_SECONDS = 120


class RequestIdMiddleware:
    """Gives every request an id (kept from a trusted proxy's X-Request-ID when sane) for logs and answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        tenant_token = tenant_var.set("-")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            tenant_var.reset(tenant_token)
        response["X-Request-ID"] = request_id
        return response


class RequestContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "tenant": getattr(record, "tenant", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def beat_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


@never_cache
def healthz(request):
    """Database, Redis and the Celery worker's heartbeat; 503 when the database or Redis is down."""
    report, healthy = {}, True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "down" here
        report["database"], healthy = "down", False
    try:
        last_beat = cache.get(HEARTBEAT_KEY)
        report["redis"] = "ok"
    except Exception:  # noqa: BLE001
        report["redis"], healthy, last_beat = "down", False, None
    if last_beat is None:
        report["worker"] = {"status": "unknown"}
    else:
        age = round(time.time() - float(last_beat))
        report["worker"] = {"status": "ok" if age < HEARTBEAT_STALE_SECONDS else "stale", "age_seconds": age}
    report["status"] = "ok" if healthy else "down"
    report["debug"] = settings.DEBUG
    return JsonResponse(report, status=200 if healthy else 503)

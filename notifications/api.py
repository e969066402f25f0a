"""REST endpoints for outgoing webhooks (API.md, "Webhooks")."""

from datetime import datetime

from django.http import HttpResponse
from ninja import Router, Status

from oms.api import Error, InputSchema, OutputSchema, paginate
from oms.tenancy.shortcuts import get_for_tenant_or_404

from .models import WebhookAttempt, WebhookEndpoint
from .promise import router as promise_router
from .services import webhooks

router = Router(tags=["webhooks"])


class WebhookIn(InputSchema):
    url: str
    events: list[str]
    description: str = ""


class WebhookOut(OutputSchema):
    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str


class WebhookList(OutputSchema):
    results: list[WebhookOut]
    count: int
    next: str | None


class AttemptOut(OutputSchema):
    event_id: int
    type: str
    attempt: int
    status_code: int | None
    at: datetime


class AttemptList(OutputSchema):
    results: list[AttemptOut]
    count: int
    next: str | None


def _out(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "is_active": endpoint.is_active,
        "created_at": endpoint.created_at,
    }


@router.post("/webhooks", response={201: WebhookCreated, 409: Error, 422: Error})
def create_webhook(request, payload: WebhookIn):
    endpoint, secret = webhooks.create_endpoint(
        tenant=request.tenant, url=payload.url, events=payload.events, description=payload.description
    )
    return Status(201, {**_out(endpoint), "secret": secret})


@router.get("/webhooks", response={200: WebhookList, 422: Error})
def list_webhooks(request):
    queryset = WebhookEndpoint.objects.for_tenant(request.tenant).order_by("pk")
    return paginate(request, queryset, _out)


@router.delete("/webhooks/{webhook_id}", response={204: None, 404: Error})
def delete_webhook(request, webhook_id: int):
    endpoint = get_for_tenant_or_404(WebhookEndpoint, request.tenant, pk=webhook_id)
    webhooks.delete_endpoint(endpoint=endpoint)
    return HttpResponse(status=204)


@router.get("/webhooks/{webhook_id}/deliveries", response={200: AttemptList, 404: Error, 422: Error})
def list_deliveries(request, webhook_id: int):
    endpoint = get_for_tenant_or_404(WebhookEndpoint, request.tenant, pk=webhook_id)
    attempts = (
        WebhookAttempt.objects.filter(tenant=request.tenant, delivery__endpoint=endpoint)
        .select_related("delivery__message")
        .order_by("-at", "-pk")
    )
    return paginate(
        request,
        attempts,
        lambda a: {
            "event_id": a.delivery.message.event_id,
            "type": a.delivery.message.kind,
            "attempt": a.number,
            "status_code": a.status_code,
            "at": a.at,
        },
    )


router.add_router("", promise_router)  # GET /api/v1/delivery-promise (notifications/promise.py)

"""Where automation rows are locked."""

from .models import WebhookDelivery, WebhookEndpoint


def lock_endpoint(endpoint_id: int) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)


def lock_delivery(delivery_id: int) -> WebhookDelivery:
    return WebhookDelivery.objects.select_for_update().get(pk=delivery_id)

"""SMS backends. `settings.SMS_BACKEND` names the class (default: the logging backend, for development)."""

import json
import logging
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


class BaseSmsBackend:
    def send(self, *, to: str, text: str) -> str:
        """Send one message; return the gateway's id for it (or ""). Raise SmsError on failure."""
        raise NotImplementedError


class LoggingSmsBackend(BaseSmsBackend):
    """Sends nothing: the message is logged (the caller's MessageLog row is its record)."""

    def send(self, *, to: str, text: str) -> str:
        logger.info("SMS to %s: %s", to, text)
        return ""


class HttpGatewayBackend(BaseSmsBackend):
    """POSTs {"to", "text"} as JSON to settings.SMS_GATEWAY_URL with a bearer settings.SMS_GATEWAY_TOKEN."""

    timeout = 10

    def send(self, *, to: str, text: str) -> str:
        url = getattr(settings, "SMS_GATEWAY_URL", "")
        if not url.startswith(("https://", "http://")):
            raise SmsError("SMS_GATEWAY_URL is not configured.")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=json.dumps({"to": to, "text": text}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {getattr(settings, 'SMS_GATEWAY_TOKEN', '')}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(2000).decode(errors="replace")
        except Exception as exc:
            raise SmsError(f"SMS gateway failed: {exc}") from exc
        try:
            return str(json.loads(body).get("id", ""))
        except (ValueError, AttributeError):
            return ""


def get_backend() -> BaseSmsBackend:
    path = getattr(settings, "SMS_BACKEND", "notifications.messaging.sms.LoggingSmsBackend")
    return import_string(path)()

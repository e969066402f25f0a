"""SMS backends. `settings.SMS_BACKEND` names the class (default: the logging backend, for development)."""

import json
import logging

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from oms import http

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


class BaseSmsBackend:
    # True when the gateway delivers a message at most once per idempotency key, so one whose sending was
    # interrupted may be handed over again.
    idempotent = False

    def send(self, *, to: str, text: str, idempotency_key: str = "") -> str:
        """Send one message; return the gateway's id for it (or ""). Raise SmsError on failure."""
        raise NotImplementedError


class LoggingSmsBackend(BaseSmsBackend):
    """Sends nothing: the message is logged (the caller's MessageLog row is its record)."""

    def send(self, *, to: str, text: str, idempotency_key: str = "") -> str:
        logger.info("SMS to %s: %s", to, text)
        return ""


class HttpGatewayBackend(BaseSmsBackend):
    """POSTs {"to", "text"} as JSON to settings.SMS_GATEWAY_URL with a bearer settings.SMS_GATEWAY_TOKEN and the
    message's `Idempotency-Key` header (the gateway is expected to deliver a key once)."""

    timeout = 10
    idempotent = True

    def send(self, *, to: str, text: str, idempotency_key: str = "") -> str:
        url = getattr(settings, "SMS_GATEWAY_URL", "")
        if not url.startswith(("https://", "http://")):
            raise SmsError(gettext("SMS_GATEWAY_URL is not configured."))
        try:
            answer = http.request(
                "POST",
                url,
                body=json.dumps({"to": to, "text": text}).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {getattr(settings, 'SMS_GATEWAY_TOKEN', '')}",
                    **({"Idempotency-Key": idempotency_key} if idempotency_key else {}),
                },
                timeout=self.timeout,
                max_bytes=2000,
            )
        except http.OutboundError as exc:
            raise SmsError(gettext("SMS gateway failed: %(problem)s") % {"problem": exc.message}) from exc
        if not answer.ok:
            raise SmsError(gettext("SMS gateway answered HTTP %(status)s.") % {"status": answer.status})
        body = answer.body.decode(errors="replace")
        try:
            return str(json.loads(body).get("id", ""))
        except (ValueError, AttributeError):
            return ""


def get_backend() -> BaseSmsBackend:
    path = getattr(settings, "SMS_BACKEND", "notifications.messaging.sms.LoggingSmsBackend")
    return import_string(path)()

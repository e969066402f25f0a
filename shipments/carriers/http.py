"""A generic HTTP/JSON carrier configured per tenant: base URL, bearer token and a status mapping.

    POST {base_url}/shipments           {"reference", "recipient", "phone", "address", "cod"} -> {"tracking_number"}
    GET  {base_url}/shipments/{number}/events -> {"events": [{"id", "status", "at", "reason"?}]}

`status_mapping` maps the carrier's status words to ours ("IN_TRANSIT" -> "in_transit"); unmapped words are kept
as events of state "error" so nobody loses sight of them.
"""

import datetime
import json
from urllib.parse import quote

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from oms import http

from ..errors import CarrierError
from .base import CarrierAdapter, CreatedShipment, RemoteEvent

TIMEOUT_SECONDS = 10
KNOWN_STATES = {"created", "in_transit", "at_pickup_point", "delivered", "returning", "returned", "error"}


class HttpJsonAdapter(CarrierAdapter):
    def _url(self, path: str) -> str:
        base = (self.carrier.base_url or "").rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise CarrierError(gettext("The carrier has no valid base URL."))
        return base + path

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.carrier.token:  # only to the carrier's own host: the guarded client follows no redirect
            headers["Authorization"] = f"Bearer {self.carrier.token}"
        try:
            answer = http.request(method, self._url(path), body=data, headers=headers, timeout=TIMEOUT_SECONDS)
        except http.OutboundError as exc:
            raise CarrierError(gettext("Carrier unreachable: %(problem)s") % {"problem": exc.message}) from exc
        if 300 <= answer.status < 400:
            raise CarrierError(
                gettext("Carrier answered with a redirect (HTTP %(status)s), which is not followed.")
                % {"status": answer.status}
            )
        if not answer.ok:
            raise CarrierError(gettext("Carrier answered HTTP %(status)s.") % {"status": answer.status})
        payload = answer.body
        try:
            parsed = json.loads(payload or b"{}")
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
            raise CarrierError(gettext("Carrier answered with something that is not JSON.")) from exc
        if not isinstance(parsed, dict):
            raise CarrierError(gettext("Carrier answered with unexpected JSON."))
        return parsed

    def create_shipment(self, request):
        answer = self._call(
            "POST",
            "/shipments",
            {
                "reference": request.reference,
                "recipient": request.recipient,
                "phone": request.phone,
                "address": request.address,
                "cod": request.amount_to_collect,
            },
        )
        number = str(answer.get("tracking_number") or "").strip()
        if not number or len(number) > 100 or "\x00" in number:
            raise CarrierError(gettext("Carrier did not return a tracking number."))
        return CreatedShipment(tracking_number=number)

    def fetch_events(self, *, tracking_number, created_at):
        answer = self._call("GET", f"/shipments/{quote(tracking_number, safe='')}/events")
        raw_events = answer.get("events")
        if not isinstance(raw_events, list):
            raise CarrierError(gettext("Carrier answered without an event list."))
        mapping = {str(k).lower(): v for k, v in (self.carrier.status_mapping or {}).items()}
        events = []
        for raw in raw_events:
            if not isinstance(raw, dict) or not _text(raw.get("id")) or not _text(raw.get("status")):
                continue
            at = _event_time(raw.get("at"))
            if at is None:
                continue
            status = _text(raw["status"])
            state = mapping.get(status.lower()) or (status.lower() if status.lower() in KNOWN_STATES else "error")
            if state not in KNOWN_STATES:
                state = "error"
            reason = _text(raw.get("reason")) or ("" if state != "error" else f"Unknown carrier status '{status}'")
            events.append(
                RemoteEvent(
                    external_id=_text(raw["id"])[:100], state=state, at=at, raw_status=status[:100], reason=reason[:255]
                )
            )
        return events


def _text(value) -> str:
    """A carrier's word as text we can store: PostgreSQL text holds no NUL, so those are dropped."""
    return str(value or "").replace("\x00", "")


def _event_time(value) -> datetime.datetime | None:
    """The carrier's event time, or None when it is not one (30 February, a year past 9999 once in UTC)."""
    try:
        at = parse_datetime(_text(value))
    except ValueError:
        return None
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    try:
        return at.astimezone(datetime.UTC)
    except OverflowError:
        return None

"""A pretend carrier for the demo: a parcel advances through the states as time passes since it was created."""

import datetime
import hashlib

from django.utils import timezone

from .base import CarrierAdapter, CreatedShipment, RemoteEvent

# (minutes after creation, state); a tracking number ending in 7 is refused by the recipient and comes back.
TIMELINE = [(2, "in_transit"), (5, "at_pickup_point"), (9, "delivered")]
RETURN_TIMELINE = [(2, "in_transit"), (5, "at_pickup_point"), (9, "returning")]


class SandboxAdapter(CarrierAdapter):
    def create_shipment(self, request):
        digest = hashlib.sha1(request.reference.encode(), usedforsecurity=False).hexdigest()[:10].upper()
        return CreatedShipment(tracking_number=f"SBX{digest}")

    def fetch_events(self, *, tracking_number, created_at):
        now = timezone.now()
        speed = _minutes_per_step(self.carrier.status_mapping or {})
        timeline = RETURN_TIMELINE if tracking_number.endswith("7") else TIMELINE
        events = []
        for minutes, state in timeline:
            at = created_at + datetime.timedelta(minutes=minutes * speed)
            if at <= now:
                events.append(
                    RemoteEvent(external_id=f"{tracking_number}-{state}", state=state, at=at, raw_status=state)
                )
        return events


def _minutes_per_step(mapping: dict) -> float:
    """The admin's speed setting (free JSON, not checked when saved); anything but a sane number of minutes is 1."""
    try:
        speed = float(mapping.get("minutes_per_step", 1) or 1)
    except (TypeError, ValueError):
        return 1.0
    return speed if 0 < speed <= 10_000 else 1.0  # NaN fails both comparisons

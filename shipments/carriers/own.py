"""Own couriers: the tracking number is the order number, and events come from the courier routes, not a poll."""

from .base import CarrierAdapter, CreatedShipment


class OwnCourierAdapter(CarrierAdapter):
    def create_shipment(self, request):
        return CreatedShipment(tracking_number=request.reference)

    def fetch_events(self, *, tracking_number, created_at):
        return []  # routes record delivered / failed directly

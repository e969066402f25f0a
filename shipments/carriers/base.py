"""What every carrier adapter offers: create a shipment (tracking number, label) and fetch its tracking events."""

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CreatedShipment:
    tracking_number: str
    label_pdf: bytes | None = None


@dataclass(frozen=True)
class RemoteEvent:
    external_id: str
    state: str  # one of ShipmentState, already mapped
    at: datetime.datetime
    raw_status: str = ""
    reason: str = ""


@dataclass
class ShipmentRequest:
    """What an adapter needs to know about the parcel (plain values: adapters never touch the ORM)."""

    reference: str
    recipient: str
    phone: str
    address: str
    amount_to_collect: str = "0.00"
    extra: dict = field(default_factory=dict)


class CarrierAdapter:
    """Interface; raise shipments.errors.CarrierError when the carrier cannot be reached or answers nonsense."""

    def __init__(self, carrier):
        self.carrier = carrier

    def create_shipment(self, request: ShipmentRequest) -> CreatedShipment:
        raise NotImplementedError

    def fetch_events(self, *, tracking_number: str, created_at: datetime.datetime) -> list[RemoteEvent]:
        raise NotImplementedError

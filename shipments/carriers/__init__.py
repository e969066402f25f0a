"""Carrier adapters: own couriers, a generic HTTP/JSON carrier, and a sandbox for the demo."""

from .base import CarrierAdapter, CreatedShipment, RemoteEvent, ShipmentRequest
from .http import HttpJsonAdapter
from .own import OwnCourierAdapter
from .sandbox import SandboxAdapter

ADAPTERS = {"own": OwnCourierAdapter, "http": HttpJsonAdapter, "sandbox": SandboxAdapter}


def adapter_for(carrier) -> CarrierAdapter:
    return ADAPTERS[carrier.kind](carrier)


__all__ = ["CarrierAdapter", "CreatedShipment", "RemoteEvent", "ShipmentRequest", "adapter_for"]

"""Screens of the shipments module: packing station, handover, returns, courier route, custody, documents."""

from .config import shipment_settings
from .custody import handover, order_custody, returns, write_off_lost
from .customer_returns import announce_return, customer_return
from .documents import document_pdf
from .incidents import incident_list, incident_resolve
from .packing import packing, packing_open, packing_scan, packing_station, packing_undo
from .routes import route, route_close, route_depart, stop_deliver, stop_fail

__all__ = [
    "announce_return",
    "customer_return",
    "document_pdf",
    "handover",
    "incident_list",
    "incident_resolve",
    "order_custody",
    "packing",
    "packing_open",
    "packing_scan",
    "packing_station",
    "packing_undo",
    "returns",
    "route",
    "route_close",
    "route_depart",
    "stop_deliver",
    "shipment_settings",
    "stop_fail",
    "write_off_lost",
]

from oms.errors import Conflict, DomainError


class ScanRefused(DomainError):
    """A scan that changes nothing: wrong item, item of another order, one unit too many, unknown code."""

    code = "scan_refused"


class HandoverRefused(Conflict):
    code = "handover_refused"


class AlreadyHandedOver(HandoverRefused):
    """The order is already with the courier or carrier it was scanned for: a repeated scan, nothing to do."""

    code = "already_handed_over"


class RouteRuleBroken(Conflict):
    code = "route_rule"


class DuplicateCarrier(Conflict):
    code = "duplicate_carrier"
    field = "name"


class CarrierError(Exception):
    """A carrier could not be reached or answered nonsense; polls back off, nothing else changes."""


class ReturnRefused(DomainError):
    """A customer return that cannot be announced or received as asked; nothing was written."""

    code = "return_refused"

"""Per-tenant configuration: carriers and the shipments settings (deadlines, logo, tracking mapping)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from oms import http
from oms.db import broken_constraint
from oms.errors import DomainError
from orders.models import OrderStatus, StatusPurpose

from .. import locks
from ..errors import DuplicateCarrier
from ..models import Carrier, ShipmentSettings
from .common import settings_for


def save_carrier(*, tenant, carrier: Carrier | None = None, token: str = "", **fields) -> Carrier:
    """Create or change a carrier; a blank token keeps the stored one (it is never shown again). Its base URL
    must be one the guarded client would fetch: an internal address is refused now, not at first use."""
    carrier = carrier or Carrier(tenant=tenant)
    if fields.get("base_url"):
        try:  # a DNS lookup: before the transaction, not inside it
            fields["base_url"] = http.check_url(fields["base_url"])
        except http.UnsafeUrl as exc:
            raise http.UnsafeUrl(exc.message, details={**exc.details, "field": "base_url"}) from exc
    for name, value in fields.items():
        setattr(carrier, name, value)
    if token:
        carrier.token = token
    try:
        with transaction.atomic():
            carrier.save()
    except IntegrityError as exc:
        if broken_constraint(exc) != "carrier_unique_name":
            raise
        raise DuplicateCarrier(gettext("A carrier named '%(name)s' already exists.") % {"name": carrier.name}) from exc
    return carrier


@transaction.atomic
def update_settings(*, tenant, departure_deadline, end_of_day, tracking_status_map, logo=None) -> ShipmentSettings:
    known = set(OrderStatus.objects.filter(tenant=tenant).values_list("code", flat=True)) | set(StatusPurpose.values)
    unknown = sorted(value for value in tracking_status_map.values() if value and value not in known)
    if unknown:
        raise DomainError(
            gettext("No such order status or status purpose: %(unknown)s.") % {"unknown": ", ".join(unknown)},
            field="tracking_status_map",
        )
    settings = locks.lock_settings(settings_for(tenant))
    settings.departure_deadline, settings.end_of_day = departure_deadline, end_of_day
    settings.tracking_status_map = tracking_status_map
    if logo:
        settings.logo.save(f"tenant-{tenant.pk}-{logo.name}"[-90:], logo, save=False)
    settings.save()
    return settings

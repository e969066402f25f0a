"""The checkout's delivery promise: the earliest delivery date from stock, incoming stock and the window."""

from datetime import timedelta
from typing import Annotated

from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from inventory.errors import UnknownProduct
from inventory.models import Product
from inventory.purchasing import earliest_ship_date
from oms.api import Error, OutputSchema

from .models import DeliveryWindow

router = Router(tags=["delivery promise"])


class PromiseQuery(Schema):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=100_000)] = 1
    method: Annotated[str, Field(max_length=60)] = ""


class PromiseOut(OutputSchema):
    sku: str
    quantity: int
    from_stock: bool
    ships_on: str | None
    delivery_from: str | None
    delivery_to: str | None


@router.get("/delivery-promise", response={200: PromiseOut, 422: Error})
def delivery_promise(request, query: Query[PromiseQuery]):
    """For a shop's product page: when this many units would arrive with this delivery method."""
    product = Product.objects.filter(tenant=request.tenant, sku=query.sku, is_active=True).first()
    if product is None:
        raise UnknownProduct(gettext("Unknown SKU: %(sku)s.") % {"sku": query.sku}, details={"skus": [query.sku]})
    ships_on, from_stock = earliest_ship_date(
        tenant=request.tenant, product=product, quantity=query.quantity, today=timezone.localdate()
    )
    window = DeliveryWindow.objects.filter(tenant=request.tenant, delivery_method=query.method).first()
    arrives = (
        (ships_on + timedelta(days=window.days_min), ships_on + timedelta(days=window.days_max))
        if ships_on and window
        else (None, None)
    )
    return {
        "sku": product.sku,
        "quantity": query.quantity,
        "from_stock": from_stock,
        "ships_on": ships_on.isoformat() if ships_on else None,
        "delivery_from": arrives[0].isoformat() if arrives[0] else None,
        "delivery_to": arrives[1].isoformat() if arrives[1] else None,
    }

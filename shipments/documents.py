"""Invoice, packing slip and shipping label as PDF (WeasyPrint), for one order or a batch in one file."""

import base64
import io
import mimetypes

from django.template.loader import render_to_string
from django.utils import timezone

from oms.pdf import html_to_pdf

from .models import Shipment
from .services.common import settings_for

KINDS = {"invoice": "Invoice", "slip": "Packing slip", "label": "Shipping label"}


def code128_svg(text: str) -> str:
    """A Code128 barcode as a data URI of an SVG (no files, no network); "" for text Code128 cannot carry (a
    carrier's tracking number in another script): the document prints the text alone."""
    from barcode import Code128
    from barcode.errors import IllegalCharacterError
    from barcode.writer import SVGWriter

    buffer = io.BytesIO()
    try:
        Code128(text, writer=SVGWriter()).write(
            buffer,
            options={"module_height": 12.0, "module_width": 0.25, "font_size": 8, "text_distance": 4, "quiet_zone": 2},
        )
    except IllegalCharacterError:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def logo_data_uri(tenant) -> str:
    logo = settings_for(tenant).logo
    if not logo:
        return ""
    try:
        with logo.open("rb") as handle:
            data = handle.read(2_000_000)
    except OSError:
        return ""
    mime = mimetypes.guess_type(logo.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def document_html(*, kind: str, tenant, orders) -> str:
    shipments = {s.order_id: s for s in Shipment.objects.filter(tenant=tenant, order__in=orders)}
    pages = []
    for order in orders:
        shipment = shipments.get(order.pk)
        label_code = shipment.tracking_number if shipment else order.number
        pages.append(
            {
                "order": order,
                "lines": list(order.lines.all()),
                "shipment": shipment,
                "order_barcode": code128_svg(order.number),
                "label_barcode": code128_svg(label_code) if kind == "label" else "",
                "label_code": label_code,
                "address": order.delivery_address or order.customer.address,
            }
        )
    return render_to_string(
        f"shipments/pdf/{kind}.html",
        {
            "tenant": tenant,
            "logo": logo_data_uri(tenant),
            "pages": pages,
            "title": KINDS[kind],
            "today": timezone.localdate(),
        },
    )


def render_pdf(*, kind: str, tenant, orders) -> bytes:
    return html_to_pdf(document_html(kind=kind, tenant=tenant, orders=orders))

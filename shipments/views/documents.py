"""PDF documents for one order or a batch: ?orders=1,2,3 (every id must be the tenant's, else 404)."""

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from oms.tenancy.roles import role_required
from orders.models import Order, OrderLine

from ..documents import KINDS, render_pdf
from .common import DOCUMENT_ROLES

MAX_BATCH = 100


@require_GET
@role_required(*DOCUMENT_ROLES)
def document_pdf(request, kind):
    if kind not in KINDS:
        raise Http404("No such document.")
    raw = [part.strip() for part in request.GET.get("orders", "").split(",") if part.strip()]
    if not raw or len(raw) > MAX_BATCH or not all(part.isdecimal() and len(part) < 19 for part in raw):
        raise Http404("No orders given.")
    ids = list(dict.fromkeys(int(part) for part in raw))
    from django.db.models import Prefetch

    orders = {
        o.pk: o
        for o in Order.objects.filter(tenant=request.tenant, pk__in=ids)
        .select_related("customer", "status")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.with_products().order_by("pk")))
    }
    if len(orders) != len(ids):
        raise Http404("No such order.")
    pdf = render_pdf(kind=kind, tenant=request.tenant, orders=[orders[pk] for pk in ids])
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{kind}-{orders[ids[0]].number}{'-batch' if len(ids) > 1 else ''}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response

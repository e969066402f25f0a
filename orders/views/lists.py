from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import OFFICE, role_required

from .. import marks, selectors
from ..forms import SORTS, OrderFilterForm
from ..models import Order, OrderStatus, PaymentStatus
from ..services import statuses

PAGE_SIZE = 50
MAX_BULK = 200
MAX_PAGE = 2_000  # 100,000 orders deep; past that, filters find orders faster than paging
# What a row prints (orders/jinja2/orders/_order_rows.html): the other columns of four tables, some 30 timestamps,
# amounts and texts per row, cost more to load than the row to print.
ROW_FIELDS = (
    *("number", "created_at", "channel", "total", "payment_status"),
    *("customer__name", "customer__phone", "status__name", "status__color", "manager__username"),
)


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), MAX_PAGE))
    except ValueError:
        return 1


@vary_on_headers("HX-Request")
@role_required(*OFFICE)
def order_list(request):
    form = OrderFilterForm(request.GET or None, tenant=request.tenant)
    filters = form.cleaned_data if form.is_valid() else {}
    page = _page_number(request)
    ordering = SORTS.get(filters.get("sort") or "-created", SORTS["-created"])
    # No COUNT(*) over a million rows: fetch one row more than a page to know whether a next page exists.
    start = (page - 1) * PAGE_SIZE
    # Ids first, then the joins for just those rows: a deep page does not join every row it skips.
    matching = selectors.orders_for_list(tenant=request.tenant, filters=filters).order_by(*ordering)
    page_ids = list(matching.values_list("pk", flat=True)[start : start + PAGE_SIZE + 1])
    page_rows = (
        Order.objects.filter(tenant=request.tenant, pk__in=page_ids)
        .select_related("status", "customer", "manager")
        .only(*ROW_FIELDS)
    )
    by_id = {o.pk: o for o in marks.with_marks(page_rows)}
    rows = [by_id[pk] for pk in page_ids]
    for order in rows:
        order.marks = marks.marks_of(order)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "orders": rows[:PAGE_SIZE],
        "order_rows": _rows_html(rows[:PAGE_SIZE]),
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "query": query.urlencode(),
        "statuses": [status for status in form.statuses if status.is_active],  # read once, for the filter too
    }
    template = "orders/list.html#table" if request.htmx and not request.htmx.boosted else "orders/list.html"
    return render(request, template, context)


def _rows_html(orders) -> str:
    """The list's rows, rendered by Jinja2 (oms/jinja.py: a tenth of the cost for fifty rows), autoescaped."""
    context = {
        "orders": orders,
        "select_label": gettext("Select order %(number)s"),
        "payment_labels": {value: str(label) for value, label in PaymentStatus.choices},
    }
    return mark_safe(render_to_string("orders/_order_rows.html", context, using="jinja2"))  # noqa: S308


@require_POST
@role_required(*OFFICE)
def bulk_status(request):
    """Move many orders to one status; each order succeeds or fails on its own, and says why."""
    ids = request.POST.getlist("orders")[:MAX_BULK]
    to_code = request.POST.get("to", "")
    target = OrderStatus.objects.filter(tenant=request.tenant, code=to_code, is_active=True).first()
    if not ids or target is None:
        error = gettext("Choose the status to move them to.") if ids else gettext("Choose the orders to move.")
        if request.htmx:
            return render(request, "orders/bulk_results.html#results", {"error": error})
        messages.error(request, error)
        return redirect("orders:list")
    orders = Order.objects.filter(tenant=request.tenant, pk__in=[i for i in ids if i.isdecimal()]).order_by("pk")
    results = []
    for order in orders:
        ok, outcome = run_service(
            request,
            lambda actor, order=order: statuses.change_status(order=order, to_code=to_code, actor=actor),
            notify=False,  # each order's outcome is listed on the results page
        )
        results.append((order.number, ok, "moved" if ok else outcome.message))
    done = sum(1 for _, ok, _ in results if ok)
    template = "orders/bulk_results.html#results" if request.htmx else "orders/bulk_results.html"
    return render(request, template, {"results": results, "done": done, "to": target.name})

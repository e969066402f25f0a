"""The order page: every routine action posts with htmx and gets the refreshed order body back."""

from decimal import Decimal

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from inventory.selectors import product_by_any_code
from inventory.transfers import expected_arrivals
from oms.db import HotQuery, as_prefetched
from oms.pages import run_service
from oms.tenancy.roles import OFFICE, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from .. import marks, selectors
from ..forms import AddLineForm, ChargesForm, LineForm, OrderFieldsForm, PaymentForm
from ..models import Order, OrderLine, PaymentKind, PaymentStatus
from ..panels import panels_for, returned_value
from ..services import editing, families, payments, reservations, statuses
from ..services.editing import LINE_EDIT_GROUPS
from ..services.families import SPLITTABLE_GROUPS
from ..words import Words
from .common import order_for

# Every order page, and every action on it that answers with the page, reads its order this way (built once per
# connection: see oms.db.HotQuery) and its lines with selectors.lines_with_products.
_page_order = HotQuery(
    lambda tenant_id, pk: marks.with_marks(
        Order.objects.filter(tenant_id=tenant_id, pk=pk).select_related("status", "customer", "manager")
    ),
    prepared=True,  # a row by its key with its status, customer and manager by theirs: planning was most of it
    tenant_id=-7_305_001,
    pk=-7_305_002,
)


def order_for_page(request, pk):
    """The order with what its page shows (status, customer, marks, its lines with their products); 404 outside
    the shop."""
    order = _page_order.first(tenant_id=request.tenant.pk, pk=pk)
    if order is None:
        raise Http404("No order found.")
    order.tenant = request.tenant  # the same row, already read with the membership
    order.marks = marks.marks_of(order)
    as_prefetched(order, "lines", selectors.lines_with_products(order_id=order.pk))
    return order


def detail_context(request, order, **extra):
    """`order` as `order_for_page` reads it."""
    fields_form = extra.pop("fields_form", None) or OrderFieldsForm(
        tenant=request.tenant,
        initial={
            "delivery_method": order.delivery_method,
            "delivery_address": order.delivery_address,
            "payment_method": order.payment_method,
            "manager_id": order.manager_id,
            "comment": order.comment,
        },
    )
    lines = list(order.lines.all())
    # Units short matter until the parcel leaves; after it, a line holds what is out with the customer.
    before_shipping = order.group in SPLITTABLE_GROUPS
    short = {ln.product_id for ln in lines if ln.missing} if before_shipping else set()
    due = expected_arrivals(tenant=order.tenant, product_ids=short) if short else {}
    for line in lines:  # when the missing units should arrive: the earliest open purchase order
        line.expected = due.get(line.product_id, (0, None))[1] if line.product_id in short else None
    words = Words(order.tenant_id)
    timeline = list(selectors.timeline(order=order))
    for entry in timeline:
        entry.text = words.entry(entry)
    return {
        "order": order,
        "lines": lines,
        "next_statuses": statuses.allowed_targets(order=order, role=request.role),
        "timeline": timeline,
        "family": selectors.family(order=order),
        "fields_form": fields_form,
        "add_line_form": extra.pop("add_line_form", None) or AddLineForm(),
        "lines_editable": order.group in LINE_EDIT_GROUPS,
        "before_shipping": before_shipping,
        "can_split": before_shipping and any(ln.missing for ln in lines),
        "missing_units": sum(ln.missing for ln in lines),
        "panels": panels_for(order=order, role=request.role),
        "payments": list(order.payments.order_by("created_at", "pk")),
        **_money_after_returns(order),
        "payment_form": extra.pop("payment_form", None)
        or PaymentForm(initial={"method": order.payment_method or "card"}),
        **extra,
    }


def _money_after_returns(order) -> dict:
    """Goods sent back for their money are owed by nobody: the page shows their value apart and what is still due
    without it, paid back or never paid (the API keeps total − paid, as its contract says)."""
    sent_back = returned_value(order) if order.group not in SPLITTABLE_GROUPS else None  # only a shipped order
    if not sent_back:
        return {"sent_back": None, "still_due": order.due, "payment_status_label": order.get_payment_status_display()}
    still_due = max(order.due - sent_back, Decimal("0.00"))
    settled = still_due == 0 and order.paid > 0
    label = PaymentStatus.PAID.label if settled else order.get_payment_status_display()
    return {"sent_back": sent_back, "still_due": still_due, "payment_status_label": label}


def respond(request, order_id, **extra):
    """The order body for htmx, the whole page otherwise (a plain POST redirects back to the page)."""
    if request.method == "POST" and not request.htmx:
        return redirect("orders:detail", pk=order_id)
    return _page(request, order_for_page(request, order_id), **extra)  # read again: the action changed it


def _page(request, order, **extra):
    template = "orders/detail.html#body" if request.htmx else "orders/detail.html"
    return render(request, template, detail_context(request, order, **extra))


@vary_on_headers("HX-Request")
@role_required(*OFFICE)
def order_detail(request, pk):
    return _page(request, order_for_page(request, pk))


@require_POST
@role_required(*OFFICE)
def change_status(request, pk):
    to_code = request.POST.get("to", "")
    try:
        run_service(
            request,
            lambda actor: statuses.change_status_by_id(
                tenant=request.tenant, order_id=pk, to_code=to_code, actor=actor
            ),
            success=gettext("Status changed."),
        )
    except Order.DoesNotExist as exc:
        raise Http404 from exc
    return respond(request, pk)


@require_POST
@role_required(*OFFICE)
def reserve(request, pk):
    order = order_for(request, pk)
    ok, _ = run_service(request, lambda actor: reservations.reserve_order(order=order, actor=actor))
    if ok:
        missing = sum(ln.missing for ln in order.lines.all())
        text = (
            gettext("Every line is reserved.")
            if not missing
            else gettext("Reserved what stock allows; %(n)s unit(s) are short.") % {"n": missing}
        )
        (messages.success if not missing else messages.warning)(request, text)
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def split(request, pk):
    order = order_for(request, pk)
    run_service(
        request,
        lambda actor: families.split_unavailable(order=order, actor=actor),
        success=gettext("Unavailable lines moved to order {result.number}."),
    )
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def copy(request, pk):
    order = order_for(request, pk)
    chosen = [int(i) for i in request.POST.getlist("lines") if i.isdecimal()] or None
    ok, child = run_service(
        request,
        lambda actor: families.copy_order(order=order, actor=actor, line_ids=chosen),
        success=gettext("Copied as order {result.number}."),
    )
    if ok and not request.htmx:
        return redirect("orders:detail", pk=child.pk)
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def edit_fields(request, pk):
    order = order_for(request, pk)
    form = OrderFieldsForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        return respond(request, order.pk, fields_form=form, fields_open=True)
    run_service(
        request,
        lambda actor: editing.update_order_fields(order=order, changes=form.cleaned_data, actor=actor),
        success=gettext("Order saved."),
    )
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def add_line(request, pk):
    order = order_for(request, pk)
    form = AddLineForm(request.POST)
    if form.is_valid():
        product = product_by_any_code(tenant=request.tenant, code=form.cleaned_data["code"])
        if product is None:
            form.add_error("code", "No product with this SKU or barcode.")
        else:
            ok, _ = run_service(
                request,
                lambda actor: editing.add_line(
                    order=order,
                    product=product,
                    quantity=form.cleaned_data["quantity"],
                    price=form.cleaned_data["price"],
                    actor=actor,
                ),
            )
            if ok:
                form = None
    return respond(request, order.pk, add_line_form=form)


@require_POST
@role_required(*OFFICE)
def edit_line(request, pk, line_pk):
    order = order_for(request, pk)
    line = get_for_tenant_or_404(OrderLine.objects.filter(order=order), request.tenant, pk=line_pk)
    if request.POST.get("remove"):
        run_service(
            request, lambda actor: editing.remove_line(line=line, actor=actor), success=gettext("Line removed.")
        )
        return respond(request, order.pk)
    form = LineForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, gettext("Quantity must be a whole number of at least 1, price and discount zero or more.")
        )
        return respond(request, order.pk)
    run_service(request, lambda actor: editing.update_line(line=line, actor=actor, **form.cleaned_data))
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def set_charges(request, pk):
    """The order's delivery cost and discount."""
    order = order_for(request, pk)
    form = ChargesForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Delivery cost and discount must be amounts of zero or more."))
        return respond(request, order.pk)
    run_service(
        request,
        lambda actor: editing.set_charges(order=order, actor=actor, **form.cleaned_data),
        success=gettext("Delivery cost and discount saved."),
    )
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def add_note(request, pk):
    order = order_for(request, pk)
    run_service(request, lambda actor: editing.add_note(order=order, text=request.POST.get("text", ""), actor=actor))
    return respond(request, order.pk)


@require_POST
@role_required(*OFFICE)
def add_payment(request, pk):
    """A payment or a refund taken by a manager (card terminal, cash, bank transfer)."""
    order = order_for(request, pk)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        return respond(request, order.pk, payment_form=form)
    data = form.cleaned_data
    amount, over = data["amount"], data["amount"] - max(order.due, 0)
    if data["kind"] == PaymentKind.PAYMENT and over > 0 and request.POST.get("over_due") != str(amount):
        # A typo of a few zeros goes straight into the books: more than is due is recorded only when asked twice.
        form.add_error(
            "amount",
            gettext("That is %(over)s more than the %(due)s due. Press Record again to record it all.")
            % {"over": number_format(over, 2), "due": number_format(max(order.due, 0), 2)},
        )
        return respond(request, order.pk, payment_form=form, over_due=str(amount))
    ok, _ = run_service(
        request,
        lambda actor: payments.record_payment(
            order=order,
            amount=data["amount"],
            method=data["method"],
            kind=data["kind"],
            external_id=data["external_id"],
            actor=actor,
        ),
        success=gettext("Refund recorded.") if data["kind"] == PaymentKind.REFUND else gettext("Payment recorded."),
    )
    return respond(request, order.pk, **({} if ok else {"payment_form": form}))

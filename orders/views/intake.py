from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from inventory.selectors import product_by_any_code
from inventory.selectors import products as search_products
from oms.pages import run_service
from oms.tenancy.roles import OFFICE, role_required

from ..forms import NewOrderForm
from ..models import StatusTransition
from ..services import intake


def _sku_of(tenant, code: str) -> str:
    """The SKU a typed code means (a barcode, or a SKU in any case); unknown codes stay as typed, to be refused."""
    product = product_by_any_code(tenant=tenant, code=code)
    return product.sku if product is not None else code


@role_required(*OFFICE)
def new_order(request):
    """A phone order typed by a manager."""
    form = NewOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        order_input = intake.OrderInput(
            customer_name=data["customer_name"],
            customer_phone=data["customer_phone"],
            customer_email=data["customer_email"],
            channel=data["channel"] or "phone",
            delivery_method=data["delivery_method"],
            delivery_address=data["delivery_address"],
            payment_method=data["payment_method"],
            payment_status=data["payment_status"],
            comment=data["comment"],
            lines=[
                intake.LineInput(sku=_sku_of(request.tenant, code), quantity=qty, price=price)
                for code, qty, price in data["lines"]
            ],
        )
        ok, order = run_service(
            request,
            lambda actor: intake.create_order(tenant=request.tenant, data=order_input, actor=actor),
            success=gettext("Order {result.number} created."),
            form=form,  # a line the order cannot take is shown under the lines
        )
        if ok:
            return redirect("orders:detail", pk=order.pk)
    form.fields["channel"].widget.attrs["list"] = "channel-options"
    return render(
        request, "orders/new.html", {"form": form, "picked": _picked(request), "channels": _channels(request)}
    )


def _channels(request) -> list[str]:
    """Channels to pick from: the usual ones and those the shop's transition matrix names."""
    named = StatusTransition.objects.filter(tenant=request.tenant).exclude(channel="").values_list("channel", flat=True)
    return sorted(set(named) | {"phone", "web", "marketplace"})


def _picked(request) -> list[dict]:
    """Lines picked before a refused submit, shown again with their stock."""
    if request.method != "POST":
        return []
    rows = []
    for sku, quantity in list(zip(request.POST.getlist("line_sku"), request.POST.getlist("line_qty"), strict=False))[
        :200
    ]:
        product = search_products(tenant=request.tenant).filter(sku=sku.strip()[:64]).first()
        if product is not None:
            rows.append({"product": product, "quantity": quantity})
    return rows


@require_GET
@role_required(*OFFICE)
def product_search(request):
    """Product suggestions for the new-order form and the add-line field (htmx)."""
    query = (request.GET.get("q") or request.GET.get("code") or "").strip()
    found = list(search_products(tenant=request.tenant, search=query, active_only=True)[:10]) if len(query) >= 2 else []
    template = "orders/_product_pick.html" if request.GET.get("pick") else "orders/_product_results.html"
    return render(request, template, {"products": found, "query": query})

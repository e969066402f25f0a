from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from inventory.selectors import products as search_products
from oms.pages import run_service
from oms.tenancy.roles import OFFICE, role_required

from ..forms import NewOrderForm
from ..services import intake


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
            lines=[intake.LineInput(sku=sku, quantity=qty, price=price) for sku, qty, price in data["lines"]],
        )
        ok, order = run_service(
            request,
            lambda actor: intake.create_order(tenant=request.tenant, data=order_input, actor=actor),
            success="Order {result.number} created.",
            form=form,  # a line the order cannot take is shown under the lines
        )
        if ok:
            return redirect("orders:detail", pk=order.pk)
    return render(request, "orders/new.html", {"form": form})


@require_GET
@role_required(*OFFICE)
def product_search(request):
    """Product suggestions for the new-order form and the add-line field (htmx)."""
    query = (request.GET.get("q") or request.GET.get("code") or "").strip()
    found = list(search_products(tenant=request.tenant, search=query, active_only=True)[:10]) if len(query) >= 2 else []
    return render(request, "orders/_product_results.html", {"products": found, "query": query})

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from oms.pages import run_service
from oms.tenancy.roles import OFFICE, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from .. import selectors
from ..forms import CustomerForm
from ..models import Customer, Order
from ..services import customers as customer_services


@role_required(*OFFICE)
def customer_list(request):
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.customers(tenant=request.tenant, search=query), 50).get_page(request.GET.get("page"))
    template = "orders/customers.html#table" if request.htmx else "orders/customers.html"
    return render(request, template, {"page": page, "query": query})


def _customer(request, pk) -> Customer:
    return get_for_tenant_or_404(Customer, request.tenant, pk=pk)


@role_required(*OFFICE)
def customer_detail(request, pk):
    customer = _customer(request, pk)
    if customer.merged_into_id and (survivor := customer_services.survivor_or_none(customer)):
        return redirect("orders:customer", pk=survivor.pk)  # with looping records, this card is shown instead
    form = CustomerForm(
        request.POST or None,
        initial={
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "address": customer.address,
            "tags": ", ".join(customer.tags),
            "notes": customer.notes,
        },
    )
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: customer_services.update_customer(customer=customer, **form.cleaned_data),
            success=gettext("Customer saved."),
        )
        if ok:
            return redirect("orders:customer", pk=customer.pk)
    orders = (
        Order.objects.filter(tenant=request.tenant, customer=customer)
        .select_related("status")
        .order_by("-created_at")[:100]
    )
    return render(
        request,
        "orders/customer_detail.html",
        {
            "customer": customer,
            "form": form,
            "orders": orders,
            "stats": selectors.customer_stats(customer=customer),
            "contacts": customer.contacts.order_by("kind", "value"),
        },
    )


@require_POST
@role_required(*OFFICE)
def customer_merge(request, pk):
    """Merge the customer numbered in the form into this one; merged customers stand for their survivor."""
    keep = _customer(request, pk)
    duplicate = get_for_tenant_or_404(Customer, request.tenant, pk=request.POST.get("duplicate", "").strip())
    ok, survivor = run_service(
        request,
        lambda actor: customer_services.merge_customers(keep=keep, duplicate=duplicate),
        success=lambda kept: (
            gettext("Customer #%(pk)s (%(name)s) merged into %(kept)s.")
            % {"pk": duplicate.pk, "name": duplicate.name, "kept": kept.name}
        ),
    )
    if ok:
        return redirect("orders:customer", pk=survivor.pk)
    return redirect("orders:customer", pk=keep.pk)

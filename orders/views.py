from django.shortcuts import render

from oms.tenancy.roles import OFFICE, role_required


@role_required(*OFFICE)
def order_list(request):
    return render(request, "orders/list.html")


@role_required(*OFFICE)
def customer_list(request):
    return render(request, "orders/customers.html")

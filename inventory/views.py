from django.shortcuts import render

from oms.tenancy.roles import ADMIN, MANAGER, OWNER, role_required


@role_required(OWNER, MANAGER, ADMIN)
def product_list(request):
    return render(request, "inventory/products.html")

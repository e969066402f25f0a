from django.shortcuts import render

from oms.tenancy.roles import COURIER, MANAGER, OWNER, PACKER, role_required


@role_required(OWNER, MANAGER, PACKER)
def packing(request):
    return render(request, "shipments/packing.html")


@role_required(COURIER)
def route(request):
    return render(request, "shipments/route.html")

from django.shortcuts import render

from oms.tenancy.roles import OWNER, role_required


@role_required(OWNER)
def home(request):
    return render(request, "analytics/home.html")

from django.shortcuts import render

from oms.tenancy.roles import OFFICE, role_required


@role_required(*OFFICE)
def inbox(request):
    return render(request, "notifications/inbox.html")

from django.urls import path

from . import views

app_name = "shipments"

urlpatterns = [
    path("packing/", views.packing, name="packing"),
    path("route/", views.route, name="route"),
]

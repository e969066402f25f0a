from django.urls import path

from . import views

app_name = "shipments"

urlpatterns = [
    path("packing/", views.packing, name="packing"),
    path("packing/open/", views.packing_open, name="packing_open"),
    path("packing/<int:pk>/", views.packing_station, name="packing_station"),
    path("packing/<int:pk>/scan/", views.packing_scan, name="packing_scan"),
    path("packing/<int:pk>/undo/", views.packing_undo, name="packing_undo"),
    path("handover/", views.handover, name="handover"),
    path("returns/", views.returns, name="returns"),
    path("route/", views.route, name="route"),
    path("route/<int:pk>/depart/", views.route_depart, name="route_depart"),
    path("route/<int:pk>/close/", views.route_close, name="route_close"),
    path("route/stops/<int:pk>/delivered/", views.stop_deliver, name="stop_deliver"),
    path("route/stops/<int:pk>/failed/", views.stop_fail, name="stop_fail"),
    path("orders/<int:pk>/custody/", views.order_custody, name="order_custody"),
    path("orders/<int:pk>/lost/", views.write_off_lost, name="write_off_lost"),
    path("orders/<int:pk>/return/", views.announce_return, name="announce_return"),
    path("returns/<int:pk>/", views.customer_return, name="customer_return"),
    path("documents/<slug:kind>.pdf", views.document_pdf, name="document"),
    path("incidents/", views.incident_list, name="incidents"),
    path("settings/", views.shipment_settings, name="settings"),
    path("incidents/<int:pk>/resolve/", views.incident_resolve, name="incident_resolve"),
]

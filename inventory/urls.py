from django.urls import path

from . import purchase_views, transfer_views, views

app_name = "inventory"

urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("products/<int:pk>/edit/", views.product_update, name="product_update"),
    path("products/<int:pk>/receive/", views.receive, name="receive"),
    path("products/<int:pk>/write-off/", views.write_off, name="write_off"),
    path("products/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("products/<int:pk>/reorder-point/", views.reorder_point, name="reorder_point"),
    path("reorder/", views.to_reorder, name="reorder"),
    path("warehouses/", views.warehouse_list, name="warehouses"),
    path("warehouses/<int:pk>/", views.warehouse_edit, name="warehouse_edit"),
    path("import/", views.import_products, name="import"),
    path("import/confirm/", views.import_confirm, name="import_confirm"),
    path("purchases/", purchase_views.purchase_list, name="purchases"),
    path("purchases/new/", purchase_views.purchase_new, name="purchase_new"),
    path("purchases/<int:pk>/", purchase_views.purchase_detail, name="purchase"),
    path("purchases/<int:pk>/scan/", purchase_views.purchase_scan, name="purchase_scan"),
    path("purchases/<int:pk>/receive/", purchase_views.purchase_receive, name="purchase_receive"),
    path("purchases/<int:pk>/cancel/", purchase_views.purchase_cancel, name="purchase_cancel"),
    path("purchases/<int:pk>/expected/", purchase_views.purchase_expected, name="purchase_expected"),
    path("purchases/<int:pk>/pdf/", purchase_views.purchase_pdf, name="purchase_pdf"),
    path("transfers/", transfer_views.transfer_list, name="transfers"),
    path("transfers/new/", transfer_views.transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", transfer_views.transfer_detail, name="transfer"),
    path("transfers/<int:pk>/scan/", transfer_views.transfer_scan, name="transfer_scan"),
    path("transfers/<int:pk>/receive/", transfer_views.transfer_receive, name="transfer_receive"),
    path("transfers/<int:pk>/close/", transfer_views.transfer_close, name="transfer_close"),
]

from django.urls import path

from .views import customers, detail, intake, lists, settings

app_name = "orders"

urlpatterns = [
    path("", lists.order_list, name="list"),
    path("bulk-status/", lists.bulk_status, name="bulk_status"),
    path("new/", intake.new_order, name="new"),
    path("product-search/", intake.product_search, name="product_search"),
    path("<int:pk>/", detail.order_detail, name="detail"),
    path("<int:pk>/status/", detail.change_status, name="change_status"),
    path("<int:pk>/reserve/", detail.reserve, name="reserve"),
    path("<int:pk>/split/", detail.split, name="split"),
    path("<int:pk>/copy/", detail.copy, name="copy"),
    path("<int:pk>/fields/", detail.edit_fields, name="edit_fields"),
    path("<int:pk>/lines/", detail.add_line, name="add_line"),
    path("<int:pk>/lines/<int:line_pk>/", detail.edit_line, name="edit_line"),
    path("<int:pk>/notes/", detail.add_note, name="add_note"),
    path("<int:pk>/charges/", detail.set_charges, name="set_charges"),
    path("<int:pk>/payments/", detail.add_payment, name="add_payment"),
    path("customers/", customers.customer_list, name="customers"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer"),
    path("customers/<int:pk>/merge/", customers.customer_merge, name="customer_merge"),
    path("settings/statuses/", settings.status_list, name="statuses"),
    path("settings/statuses/<int:pk>/", settings.status_edit, name="status_edit"),
    path("settings/matrix/", settings.matrix, name="matrix"),
    path("settings/matrix/toggle/", settings.matrix_toggle, name="matrix_toggle"),
]

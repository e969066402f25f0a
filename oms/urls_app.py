from django.urls import path

from . import views

app_name = "oms"

urlpatterns = [
    path("tenants/choose/", views.choose_tenant, name="choose_tenant"),
    path("accounts/me/", views.account, name="account"),
    path("settings/", views.settings_home, name="settings"),
    path("settings/tokens/", views.api_token_create, name="api_token_create"),
    path("settings/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("settings/export/", views.export_data, name="export"),
    path("settings/round-robin/", views.round_robin, name="round_robin"),
    path("settings/events/retry/", views.events_retry, name="events_retry"),
]

from django.urls import path

from . import staff_views, views

app_name = "oms"

urlpatterns = [
    path("tenants/choose/", views.choose_tenant, name="choose_tenant"),
    path("accounts/me/", views.account, name="account"),
    path("settings/", views.settings_home, name="settings"),
    path("settings/tokens/", views.api_token_create, name="api_token_create"),
    path("settings/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("settings/export/", views.export_data, name="export"),
    path("settings/jobs/<int:pk>/", views.job_status, name="job"),
    path("settings/jobs/<int:pk>/download/", views.job_download, name="job_download"),
    path("settings/round-robin/", views.round_robin, name="round_robin"),
    path("settings/serve-waiting/", views.serve_waiting, name="serve_waiting"),
    path("settings/events/retry/", views.events_retry, name="events_retry"),
    path("settings/staff/", staff_views.staff_list, name="staff"),
    path("settings/staff/audit/", staff_views.staff_audit, name="staff_audit"),
    path("settings/staff/<int:pk>/role/", staff_views.staff_role, name="staff_role"),
    path("settings/staff/<int:pk>/active/", staff_views.staff_active, name="staff_active"),
    path("settings/staff/<int:pk>/password-link/", staff_views.staff_password_link, name="staff_password_link"),
    path("settings/staff/<int:pk>/password-email/", staff_views.staff_password_email, name="staff_password_email"),
]

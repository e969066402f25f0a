from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.home, name="home"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("lifetime-value/", views.ltv, name="ltv"),
    path("flow/", views.flow, name="flow"),
    path("sla/", views.sla, name="sla"),
    path("split-offs/", views.split_offs, name="splits"),
    path("margins/", views.margins, name="margins"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/rebuild/", views.refresh_view, name="refresh"),
]

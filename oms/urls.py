from django.contrib.auth import views as auth_views
from django.urls import include, path

import analytics.urls
import inventory.api
import inventory.urls
import notifications.api
import notifications.urls
import orders.api
import orders.urls
import shipments.urls

from . import views
from .api import api
from .observability import healthz

api.add_router("", inventory.api.router)
api.add_router("", orders.api.router)
api.add_router("", notifications.api.router)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url="/"),
        name="password_change",
    ),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("oms.urls_app")),
    path("inventory/", include(inventory.urls)),
    path("orders/", include(orders.urls)),
    path("shipments/", include(shipments.urls)),
    path("alerts/", include(notifications.urls)),
    path("analytics/", include(analytics.urls)),
    path("api/v1/", api.urls),
]

handler403 = "oms.views.permission_denied"

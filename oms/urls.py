"""The root URLconf. Apps are found through INSTALLED_APPS, not named here: an app whose AppConfig declares
`url_prefix` has its `<app>.urls` mounted there, and one that declares `api_router` (a dotted path) has that
django-ninja router added to the API, so the core imports no higher app."""

from django.apps import apps
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.module_loading import import_string

from . import staff, views
from .api import api
from .observability import healthz


def _app_urlpatterns() -> list:
    return [
        path(config.url_prefix, include(f"{config.name}.urls"))
        for config in apps.get_app_configs()
        if getattr(config, "url_prefix", None)
    ]


for _config in apps.get_app_configs():
    if getattr(_config, "api_router", None):
        api.add_router("", import_string(_config.api_router))

urlpatterns = [
    # First: an API call is most of the traffic, and each pattern before it is tried in turn (the app's, under an
    # empty prefix, one by one).
    path("api/v1/", api.urls),
    path("", views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    # Pages name their icon; a PDF opened in a tab has none, so the browser asks for the classic path.
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url="/"),
        name="password_change",
    ),
    # The one-time link of a new or reset password (made by the shop's owner on the staff screen).
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url="/accounts/reset/done/", token_generator=staff.password_links
        ),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=views.LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("oms.urls_app")),
    *_app_urlpatterns(),
]

handler403 = "oms.views.permission_denied"

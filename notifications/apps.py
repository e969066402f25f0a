from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "alerts/"  # oms.urls mounts notifications.urls here and adds notifications.api.router to the API
    api_router = "notifications.api.router"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from oms.tenancy.navigation import register_header_template, register_navigation, register_settings_link
        from oms.tenancy.roles import ADMIN, OFFICE, SETTINGS
        from oms.tenancy.setup import register_tenant_initializer
        from orders.marks import register_order_mark
        from orders.panels import register_order_panel, register_public_link

        from . import (
            selectors,
            subscribers,
            system,  # noqa: F401 - declares the sweeps' cross-tenant functions
        )
        from .services.messaging import install_default_templates
        from .services.tracking import tracking_url

        register_tenant_initializer(install_default_templates)
        register_public_link(tracking_url)  # the API's `tracking_url`
        subscribers.register()
        # Tracking link, promised delivery window, the order's tasks and messages, on the order page.
        register_order_panel(title=_("Customer & tasks"), url_name="notifications:order_panel", roles=OFFICE)
        register_navigation(label=_("Alerts"), url_name="notifications:inbox", roles=(*OFFICE, ADMIN), position=60)
        register_navigation(label=_("My tasks"), url_name="notifications:tasks", roles=OFFICE, position=70)
        register_settings_link(label=_("Automation"), url_name="notifications:settings", roles=SETTINGS, position=30)
        register_header_template("notifications/_alert_badge.html")  # the unread alert count
        # The order list's "Overdue only" filter and the "overdue" badge read this app's deadlines.
        register_order_mark(
            name="overdue", badge=_("overdue"), filter_label=_("Overdue only"), condition=selectors.order_is_overdue
        )

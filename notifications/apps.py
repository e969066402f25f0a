from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.tenancy.roles import OFFICE
        from oms.tenancy.setup import register_tenant_initializer
        from orders.panels import register_order_panel

        from . import (
            subscribers,
            system,  # noqa: F401 - declares the sweeps' cross-tenant functions
        )
        from .services.messaging import install_default_templates

        register_tenant_initializer(install_default_templates)
        subscribers.register()
        # Tracking link, promised delivery window, the order's tasks and messages, on the order page.
        register_order_panel(title="Customer & tasks", url_name="notifications:order_panel", roles=OFFICE)

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.tenancy.setup import register_tenant_initializer

        from . import subscribers
        from .services.messaging import install_default_templates

        register_tenant_initializer(install_default_templates)
        subscribers.register()

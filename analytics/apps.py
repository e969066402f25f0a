from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.tenancy.setup import register_tenant_initializer

        from .services import create_default_settings

        register_tenant_initializer(create_default_settings)

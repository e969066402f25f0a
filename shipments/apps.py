from django.apps import AppConfig


class ShipmentsConfig(AppConfig):
    name = "shipments"
    verbose_name = "Shipments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.tenancy.setup import register_tenant_initializer

        from .services.common import install_default_settings

        register_tenant_initializer(install_default_settings)

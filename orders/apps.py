from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.tenancy.setup import register_tenant_initializer

        from .catalogue import install_default_catalogue

        register_tenant_initializer(install_default_catalogue)

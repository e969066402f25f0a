from django.apps import AppConfig


class ShipmentsConfig(AppConfig):
    name = "shipments"
    verbose_name = "Shipments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oms.tenancy.roles import OFFICE
        from oms.tenancy.setup import register_tenant_initializer
        from orders.panels import register_order_panel

        from . import system  # noqa: F401 - declares the sweeps' cross-tenant functions
        from .services.common import install_default_settings

        register_tenant_initializer(install_default_settings)
        # The order page shows the custody chain: the same URL answers a fragment for htmx.
        register_order_panel(title="Custody", url_name="shipments:order_custody", roles=OFFICE)

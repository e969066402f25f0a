from django.apps import AppConfig


class ShipmentsConfig(AppConfig):
    name = "shipments"
    verbose_name = "Shipments"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "shipments/"  # oms.urls mounts shipments.urls here

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from oms.tenancy.navigation import register_navigation, register_settings_link, register_start_screen
        from oms.tenancy.roles import COURIER, MANAGER, OFFICE, OWNER, PACKER, SETTINGS
        from oms.tenancy.setup import register_tenant_initializer
        from orders.panels import register_order_panel, register_returned_value

        from . import system  # noqa: F401 - declares the sweeps' cross-tenant functions
        from .services.common import install_default_settings
        from .services.returns import value_sent_back

        register_tenant_initializer(install_default_settings)
        # The order page shows the custody chain: the same URL answers a fragment for htmx.
        register_order_panel(title=_("Custody"), url_name="shipments:order_custody", roles=OFFICE)
        register_returned_value(value_sent_back)
        register_navigation(
            label=_("Packing"), url_name="shipments:packing", roles=(OWNER, MANAGER, PACKER), position=40
        )
        register_navigation(label=_("My route"), url_name="shipments:route", roles=(COURIER,), position=50)
        register_navigation(label=_("Incidents"), url_name="shipments:incidents", roles=OFFICE, position=80)
        register_start_screen(role=PACKER, url_name="shipments:packing")
        register_start_screen(role=COURIER, url_name="shipments:route")
        register_settings_link(
            label=_("Shipping and documents"), url_name="shipments:settings", roles=SETTINGS, position=40
        )

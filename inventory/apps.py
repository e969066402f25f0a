from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "inventory/"  # oms.urls mounts inventory.urls here and adds inventory.api.router to the API
    api_router = "inventory.api.router"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from oms.tenancy.navigation import register_navigation, register_settings_link
        from oms.tenancy.roles import ADMIN, MANAGER, OWNER, PACKER, SETTINGS

        register_navigation(
            label=_("Products"), url_name="inventory:products", roles=(OWNER, MANAGER, ADMIN), position=30
        )
        register_navigation(
            label=_("Purchasing"), url_name="inventory:purchases", roles=(OWNER, MANAGER, ADMIN, PACKER), position=45
        )
        register_settings_link(
            label=_("Products and warehouses"), url_name="inventory:products", roles=SETTINGS, position=50
        )

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "orders/"  # oms.urls mounts orders.urls here and adds orders.api.router to the API
    api_router = "orders.api.router"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from inventory.reorder import register_demand
        from inventory.selectors import register_holder_check
        from oms.event_catalogue import PurchaseExpectedChanged, StockReceived
        from oms.events import subscribe
        from oms.rls import register_role_grants
        from oms.tenancy.navigation import register_navigation, register_settings_link, register_start_screen
        from oms.tenancy.roles import MANAGER, OFFICE, SETTINGS
        from oms.tenancy.setup import register_tenant_finalizer, register_tenant_initializer

        from .catalogue import drop_number_sequence, install_default_catalogue, number_schema_grants
        from .selectors import reserved_drift
        from .services.waiting import on_expected_date_changed, on_stock_received, units_needed

        register_tenant_initializer(install_default_catalogue)
        register_tenant_finalizer(drop_number_sequence)
        register_role_grants(number_schema_grants)
        register_navigation(label=_("Orders"), url_name="orders:list", roles=OFFICE, position=10)
        register_navigation(label=_("Customers"), url_name="orders:customers", roles=OFFICE, position=20)
        register_start_screen(role=MANAGER, url_name="orders:list")
        register_settings_link(label=_("Statuses"), url_name="orders:statuses", roles=SETTINGS, position=10)
        register_settings_link(label=_("Transition matrix"), url_name="orders:matrix", roles=SETTINGS, position=20)
        subscribe(StockReceived, on_stock_received, name="orders.serve_waiting")  # before triggers see the event
        subscribe(PurchaseExpectedChanged, on_expected_date_changed, name="orders.expected_date_moved")
        register_demand(units_needed)
        register_holder_check(reserved_drift)

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "analytics/"  # oms.urls mounts analytics.urls here

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from oms.jobs import register_job
        from oms.tenancy.navigation import register_navigation, register_start_screen
        from oms.tenancy.roles import OWNER
        from oms.tenancy.setup import register_tenant_initializer

        from .services import REBUILD_JOB, create_default_settings, rebuild_job

        register_tenant_initializer(create_default_settings)
        register_job(REBUILD_JOB, label=_("Summary rebuild"), run=rebuild_job)
        register_navigation(label=_("Analytics"), url_name="analytics:home", roles=(OWNER,), position=90)
        register_start_screen(role=OWNER, url_name="analytics:home")

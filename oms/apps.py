from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "oms"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from . import i18n, rls, system  # noqa: F401 - system declares the core's cross-tenant functions; i18n its signal
        from .jobs import register_job
        from .lifecycle import EXPORT_JOB, export_job
        from .tenancy.navigation import register_navigation, register_start_screen
        from .tenancy.roles import ADMIN, SETTINGS

        register_job(EXPORT_JOB, label=_("Data export"), run=export_job)
        post_migrate.connect(rls.apply_policies, sender=self, dispatch_uid="oms.rls.apply_policies")
        register_navigation(label=_("Settings"), url_name="oms:settings", roles=SETTINGS, position=100)
        register_start_screen(role=ADMIN, url_name="oms:settings")

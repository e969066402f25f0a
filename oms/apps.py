import sys

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "oms"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import rls

        post_migrate.connect(rls.apply_policies, sender=self, dispatch_uid="oms.rls.apply_policies")
        # Migrations run as the owner; everything else drops to the application role the policies bind.
        if sys.argv[1:2] != ["migrate"]:
            connection_created.connect(rls.use_app_role, dispatch_uid="oms.rls.use_app_role")

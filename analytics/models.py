"""Analytics reads the orders tables; the only thing it stores is each tenant's report settings."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from oms.models import TenantOwned

# Kept as literals: analytics may import orders, but the groups must match orders.models.Group.
REVENUE_GROUP_CHOICES = [
    ("new", "New"),
    ("approval", "Approval"),
    ("assembly", "Assembly"),
    ("delivery", "Delivery"),
    ("complete", "Complete"),
]
DEFAULT_REVENUE_GROUPS = ["complete"]


def default_revenue_groups():
    return list(DEFAULT_REVENUE_GROUPS)


class AnalyticsSettings(TenantOwned):
    """Which order groups count as revenue in every report (cancelled orders never do)."""

    revenue_groups = ArrayField(
        models.CharField(max_length=20, choices=REVENUE_GROUP_CHOICES), default=default_revenue_groups
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "analytics settings"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="analytics_settings_one_per_tenant"),
            models.CheckConstraint(
                condition=Q(revenue_groups__contained_by=[value for value, _ in REVENUE_GROUP_CHOICES])
                & ~Q(revenue_groups=[]),
                name="analytics_settings_revenue_groups_valid",
            ),
        ]

    def __str__(self):
        return f"Analytics settings of tenant {self.tenant_id}"

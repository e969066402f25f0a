"""Analytics reads the orders tables; the only thing it stores is each tenant's report settings."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from oms.models import Tenant, TenantOwned

# Kept as literals: analytics may import orders, but the groups must match orders.models.Group.
REVENUE_GROUP_CHOICES = [
    ("new", gettext_lazy("New")),
    ("approval", gettext_lazy("Approval")),
    ("assembly", gettext_lazy("Assembly")),
    ("delivery", gettext_lazy("Delivery")),
    ("complete", gettext_lazy("Complete")),
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
    # Watermark of the purchase summary: when it was rebuilt, and the newest order change it had seen.
    purchases_refreshed_at = models.DateTimeField(null=True, blank=True)
    purchases_seen_change = models.DateTimeField(null=True, blank=True)
    # Watermark of the stay summary: the newest timeline entry it has read.
    stays_seen_activity = models.BigIntegerField(null=True, blank=True)

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


class SummaryRow(TenantOwned):
    """A derived row, rebuilt by the hundred thousand in one statement.

    Its tenant link has no database constraint: the check Django defers to commit runs once per row and cost
    more than the rebuild itself (bench/analytics.py). The rows are written only from the tenant's own orders,
    and `oms.lifecycle.delete_tenant` removes them by tenant_id as it does every tenant table. No index of its
    own either: each summary's indexes lead with tenant_id.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)

    class Meta:
        abstract = True


class Purchase(SummaryRow):
    """Summary: one row per purchase (order family with revenue), kept by `services.refresh_purchases`.

    The cohort, lifetime-value and channel reports read this instead of aggregating a million orders per
    page view. Derived per customer: `first_at` and `seq` (first purchase, purchase number); the calendar
    buckets in the site's time zone (month/week of the purchase and of the first purchase, the age in
    periods) and whether this is the customer's first purchase in its month/week (to count customers
    without COUNT(DISTINCT)).
    """

    root_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()
    channel = models.CharField(max_length=40)
    purchased_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    first_at = models.DateTimeField()
    seq = models.PositiveIntegerField()
    month = models.DateField()
    first_month = models.DateField()
    month_age = models.IntegerField()
    month_first = models.BooleanField()
    week = models.DateField()
    first_week = models.DateField()
    week_age = models.IntegerField()
    week_first = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "root_id"], name="purchase_unique_family")]
        indexes = [
            models.Index(
                fields=["tenant", "first_at"],
                include=[
                    "revenue",
                    "seq",
                    "first_month",
                    "month_age",
                    "month_first",
                    "first_week",
                    "week_age",
                    "week_first",
                ],
                name="purchase_tenant_first",
            ),  # fmt: skip
            models.Index(
                fields=["tenant", "purchased_at"],
                include=["channel", "month", "revenue", "customer_id"],
                name="purchase_tenant_date",
            ),
            models.Index(fields=["tenant", "customer_id"], name="purchase_tenant_customer"),
        ]


class Stay(SummaryRow):
    """Summary: one finished stay of an order in a status or a group, kept by `services.refresh_stays`.

    Built from the order timeline with LEAD over each order's status changes; the time-in-status report
    takes medians and 90th percentiles over it instead of windowing millions of timeline rows per view.
    """

    order_id = models.BigIntegerField()
    kind = models.CharField(max_length=6)  # "status" or "group"
    name = models.CharField(max_length=50)  # the status code or the group
    channel = models.CharField(max_length=40)
    entered_at = models.DateTimeField()
    seconds = models.FloatField()

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "entered_at"],
                include=["kind", "name", "seconds", "channel"],
                name="stay_tenant_entered",
            ),
            models.Index(fields=["tenant", "order_id"], name="stay_tenant_order"),
        ]


class StayHistogram(SummaryRow):
    """Summary of the stays: how many began in a month, per status or group, channel and duration bucket.

    Kept by `services.refresh_stays` with `Stay`. The time-in-status report counts whole months of its range
    here and only the partial months at its edges in `Stay`, so a year is a few hundred thousand rows, not
    millions. Buckets are the precision the report shows (whole minutes below an hour, tenths of an hour below
    two days, tenths of a day beyond): the database functions `analytics_duration_bucket(seconds)` and
    `analytics_bucket_seconds(bucket)` of migration 0005 map between the two. Months are in the site's time zone.
    """

    month = models.DateField()
    kind = models.CharField(max_length=6)
    name = models.CharField(max_length=50)
    channel = models.CharField(max_length=40)
    bucket = models.IntegerField()
    stays = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "kind", "name", "channel", "bucket"],
                include=["stays"],
                name="stay_histogram_unique",
            )
        ]


class FamilyOutcome(SummaryRow):
    """Summary: how far each order family got, kept with the purchases by `services.refresh_purchases`.

    One row per family (root order): the furthest stage any of its orders reached (1 new ... 5 complete; for a
    cancelled order, the group it was cancelled from), whether all of it was cancelled and with which status.
    The funnel counts these rows by the root's creation time and channel instead of grouping a million orders.
    """

    root_id = models.BigIntegerField()
    created_at = models.DateTimeField()
    channel = models.CharField(max_length=40)
    reach = models.PositiveSmallIntegerField()
    cancelled = models.BooleanField()
    cancel_status_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "root_id"], name="family_outcome_unique")]
        indexes = [
            models.Index(
                fields=["tenant", "created_at"],
                include=["channel", "reach", "cancelled", "cancel_status_id"],
                name="family_outcome_created",
            )
        ]

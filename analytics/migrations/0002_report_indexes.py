"""Indexes the reports need on the orders tables (analytics owns them; orders does not depend on them).

- analytics_order_family: families in root order with every column the purchase aggregate reads, so the
  cohort/LTV/channel queries are an index-only scan with a streaming GroupAggregate (no sort, no heap).
- analytics_order_channel: the distinct channels of a tenant by a skip scan (filter choices).
- analytics_order_overdue: "overdue now" per manager.
- analytics_activity_cancel: the few changes into `cancel` that the funnel reads, without scanning the timeline.
- analytics_activity_flow: the timeline events the time-in-status report reads, by time.
"""

from django.db import migrations

INDEXES = [
    (
        "analytics_order_family",
        'orders_order (tenant_id, root_id) INCLUDE (id, customer_id, created_at, channel, total, "group")',
    ),
    ("analytics_order_channel", "orders_order (tenant_id, channel)"),
    ("analytics_order_overdue", "orders_order (tenant_id, manager_id) WHERE is_overdue"),
    (
        "analytics_activity_cancel",
        "orders_orderactivity (tenant_id, order_id) "
        "WHERE kind = 'status_changed' AND (changes -> 'group' ->> 1) = 'cancel'",
    ),
    (
        "analytics_activity_flow",
        "orders_orderactivity (tenant_id, at) INCLUDE (order_id) "
        "WHERE kind IN ('created', 'split_from', 'status_changed', 'copied')",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("orders", "0002_order_sla_due_at"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, definition in INDEXES
    ]

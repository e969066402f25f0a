"""Time-limit deadlines and overdue marks belong to the notifications app now (its OrderDeadline table).

Before the columns go, their values are set aside in `orders_deadline_handover`, a plain table that notifications'
migration 0005 (which depends on this one, the floors' direction) copies and drops; orders knows nothing of
notifications. The old `is_overdue` flag was reset at every status change, so a set flag belongs to the order's
current status period (`status_changed_at`).
"""

from django.db import migrations

HAND_OVER = """
DO $$
DECLARE
    forced boolean;
BEGIN
    -- The owner reads every shop's rows here; row-level security forced on the table would hide them.
    SELECT relforcerowsecurity INTO forced FROM pg_class WHERE oid = 'orders_order'::regclass;
    IF forced THEN
        ALTER TABLE orders_order NO FORCE ROW LEVEL SECURITY;
    END IF;
    CREATE TABLE orders_deadline_handover AS
        SELECT tenant_id, id AS order_id, status_changed_at, sla_due_at, is_overdue
        FROM orders_order
        WHERE sla_due_at IS NOT NULL OR is_overdue;
    IF forced THEN
        ALTER TABLE orders_order FORCE ROW LEVEL SECURITY;
    END IF;
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_order_number_schema'),
    ]

    operations = [
        migrations.RunSQL(HAND_OVER, "DROP TABLE IF EXISTS orders_deadline_handover"),
        migrations.RemoveIndex(
            model_name='order',
            name='order_sla_due',
        ),
        migrations.RemoveField(
            model_name='historicalorder',
            name='is_overdue',
        ),
        migrations.RemoveField(
            model_name='historicalorder',
            name='sla_due_at',
        ),
        migrations.RemoveField(
            model_name='order',
            name='is_overdue',
        ),
        migrations.RemoveField(
            model_name='order',
            name='sla_due_at',
        ),
    ]

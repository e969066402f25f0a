"""Deadlines and overdue marks that orders kept until its migration 0005, copied into OrderDeadline.

Orders set them aside in `orders_deadline_handover`; this copies and drops it (nothing to do when it is absent).
When an order was marked overdue is not known: its deadline stands in (or the start of its status, when the
limit was removed after the breach).
"""

from django.db import migrations

COPY = """
DO $$
DECLARE
    forced boolean;
BEGIN
    IF to_regclass('orders_deadline_handover') IS NULL THEN
        RETURN;
    END IF;
    -- The owner writes every shop's rows here; row-level security forced on the table would refuse them.
    SELECT relforcerowsecurity INTO forced FROM pg_class WHERE oid = 'notifications_orderdeadline'::regclass;
    IF forced THEN
        ALTER TABLE notifications_orderdeadline NO FORCE ROW LEVEL SECURITY;
    END IF;
    INSERT INTO notifications_orderdeadline (tenant_id, order_id, started_at, due_at, overdue_at)
    SELECT tenant_id, order_id, status_changed_at, sla_due_at,
           CASE WHEN is_overdue THEN COALESCE(sla_due_at, status_changed_at) END
    FROM orders_deadline_handover
    ON CONFLICT (order_id) DO NOTHING;
    IF forced THEN
        ALTER TABLE notifications_orderdeadline FORCE ROW LEVEL SECURITY;
    END IF;
    DROP TABLE orders_deadline_handover;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_orderdeadline")]

    operations = [migrations.RunSQL(COPY, migrations.RunSQL.noop)]

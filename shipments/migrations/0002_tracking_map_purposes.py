"""The tracking map names status purposes: a value that is the code of a status with a purpose becomes that purpose,
so renaming the status later does not silently stop orders from following their parcels."""

from django.db import migrations

CONVERT = """
DO $$
DECLARE
    forced_settings boolean;
    forced_statuses boolean;
BEGIN
    -- The owner reads every shop's rows here; row-level security forced on the tables would hide them.
    SELECT relforcerowsecurity INTO forced_settings FROM pg_class WHERE oid = 'shipments_shipmentsettings'::regclass;
    SELECT relforcerowsecurity INTO forced_statuses FROM pg_class WHERE oid = 'orders_orderstatus'::regclass;
    IF forced_settings THEN
        ALTER TABLE shipments_shipmentsettings NO FORCE ROW LEVEL SECURITY;
    END IF;
    IF forced_statuses THEN
        ALTER TABLE orders_orderstatus NO FORCE ROW LEVEL SECURITY;
    END IF;
    UPDATE shipments_shipmentsettings ss
    SET tracking_status_map = (
        SELECT jsonb_object_agg(
            e.key,
            COALESCE(
                (SELECT s.purpose FROM orders_orderstatus s
                 WHERE s.tenant_id = ss.tenant_id AND s.code = e.value AND s.purpose <> ''),
                e.value
            )
        )
        FROM jsonb_each_text(ss.tracking_status_map) AS e(key, value)
    )
    WHERE jsonb_typeof(ss.tracking_status_map) = 'object' AND ss.tracking_status_map <> '{}'::jsonb;
    IF forced_settings THEN
        ALTER TABLE shipments_shipmentsettings FORCE ROW LEVEL SECURITY;
    END IF;
    IF forced_statuses THEN
        ALTER TABLE orders_orderstatus FORCE ROW LEVEL SECURITY;
    END IF;
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0007_status_purposes"),
        ("shipments", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(CONVERT, migrations.RunSQL.noop),
    ]

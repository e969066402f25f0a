"""Statuses declare what they are for (`purpose`); the code looks statuses up by purpose, never by code.

Existing shops get the purposes their current statuses already serve: the split-off flag becomes the purpose
`split_target`; handover went to the delivery group's default status (else `handed-over`), delivery to
`delivered` (else the complete group's default); the others are found by the default catalogue's codes, each
only in the group its purpose needs and only once per shop.
"""

from django.db import migrations, models

FILL = """
DO $$
DECLARE
    forced boolean;
BEGIN
    -- The owner reads and writes every shop's rows here; row-level security forced on the table would hide them.
    SELECT relforcerowsecurity INTO forced FROM pg_class WHERE oid = 'orders_orderstatus'::regclass;
    IF forced THEN
        ALTER TABLE orders_orderstatus NO FORCE ROW LEVEL SECURITY;
    END IF;

    UPDATE orders_orderstatus SET purpose = 'split_target' WHERE is_split_target;

    UPDATE orders_orderstatus s SET purpose = 'handed_over'
    WHERE s.id IN (
        SELECT DISTINCT ON (tenant_id) id FROM orders_orderstatus
        WHERE "group" = 'delivery' AND purpose = '' AND (is_default OR code = 'handed-over')
        ORDER BY tenant_id, is_default DESC, is_active DESC, id
    );

    UPDATE orders_orderstatus s SET purpose = 'delivered'
    WHERE s.id IN (
        SELECT DISTINCT ON (tenant_id) id FROM orders_orderstatus
        WHERE "group" = 'complete' AND purpose = '' AND (is_default OR code = 'delivered')
        ORDER BY tenant_id, (code = 'delivered') DESC, is_default DESC, id
    );

    UPDATE orders_orderstatus s SET purpose = m.purpose
    FROM (VALUES
        ('packed', 'packed', 'assembly'),
        ('in-transit', 'in_transit', 'delivery'),
        ('at-pickup-point', 'at_pickup_point', 'delivery'),
        ('delivery-problem', 'delivery_problem', 'delivery'),
        ('refused', 'refused', 'cancel'),
        ('returned', 'returned', 'cancel')
    ) AS m(code, purpose, grp)
    WHERE s.code = m.code AND s."group" = m.grp AND s.purpose = ''
      AND NOT EXISTS (
          SELECT 1 FROM orders_orderstatus o WHERE o.tenant_id = s.tenant_id AND o.purpose = m.purpose
      );

    IF forced THEN
        ALTER TABLE orders_orderstatus FORCE ROW LEVEL SECURITY;
    END IF;
END
$$;
"""

UNFILL = """
DO $$
DECLARE
    forced boolean;
BEGIN
    SELECT relforcerowsecurity INTO forced FROM pg_class WHERE oid = 'orders_orderstatus'::regclass;
    IF forced THEN
        ALTER TABLE orders_orderstatus NO FORCE ROW LEVEL SECURITY;
    END IF;
    UPDATE orders_orderstatus SET is_split_target = (purpose = 'split_target');
    IF forced THEN
        ALTER TABLE orders_orderstatus FORCE ROW LEVEL SECURITY;
    END IF;
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('oms', '0001_initial'),
        ('orders', '0006_contact_phone_digits_trgm'),
    ]

    operations = [
        migrations.AddField(
            model_name='orderstatus',
            name='purpose',
            field=models.CharField(blank=True, choices=[('split_target', 'Split-off orders start here'), ('packed', 'Packed (packing verified by scan)'), ('handed_over', 'Handed over to a courier or carrier'), ('in_transit', 'In transit with the carrier'), ('at_pickup_point', 'Waiting at the pickup point'), ('delivery_problem', 'Delivery problem'), ('delivered', 'Delivered'), ('refused', 'Refused by the customer'), ('returned', 'Returned parcel received back')], default='', help_text='What the system does with this status (packing, handover, returns ...), whatever its code.', max_length=30),
        ),
        migrations.RunSQL(FILL, UNFILL),
        migrations.RemoveConstraint(
            model_name='orderstatus',
            name='status_one_split_target',
        ),
        migrations.RemoveField(
            model_name='orderstatus',
            name='is_split_target',
        ),
        migrations.AddConstraint(
            model_name='orderstatus',
            constraint=models.UniqueConstraint(condition=models.Q(('purpose', ''), _negated=True), fields=('tenant', 'purpose'), name='status_one_per_purpose'),
        ),
        migrations.AddConstraint(
            model_name='orderstatus',
            constraint=models.CheckConstraint(condition=models.Q(('purpose', ''), ('purpose__in', ['split_target', 'packed', 'handed_over', 'in_transit', 'at_pickup_point', 'delivery_problem', 'delivered', 'refused', 'returned']), _connector='OR'), name='status_purpose_valid'),
        ),
    ]

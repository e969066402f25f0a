"""Lines written before the database kept `reserved` (0011) are brought to its rule: units reserved for the line
plus units that shipped with it and did not come back (the figure check_stock holds them to). Row-level security
binds the owner too, so each shop's lines are updated with that shop bound."""

from django.db import migrations

from oms import rls

RECOUNT = """
UPDATE orders_orderline l
SET reserved = LEAST(l.quantity, COALESCE(held.units, 0) + GREATEST(COALESCE(out.units, 0), 0))
FROM orders_orderline target
LEFT JOIN (
    SELECT line_id, SUM(quantity) AS units FROM inventory_reservation WHERE tenant_id = %(tenant)s GROUP BY line_id
) held ON held.line_id = target.id
LEFT JOIN (
    SELECT order_line_id, -SUM(quantity) AS units
    FROM inventory_stockmove
    WHERE tenant_id = %(tenant)s AND order_line_id IS NOT NULL AND kind IN ('shipment', 'return')
    GROUP BY order_line_id
) out ON out.order_line_id = target.id
WHERE l.id = target.id AND l.tenant_id = %(tenant)s
  AND l.reserved <> LEAST(l.quantity, COALESCE(held.units, 0) + GREATEST(COALESCE(out.units, 0), 0))
"""


def recount(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM oms_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            with rls.tenant_context(tenant_id):
                cursor.execute(RECOUNT, {"tenant": tenant_id})


class Migration(migrations.Migration):
    dependencies = [("orders", "0011_line_reserved_follows_inventory")]

    operations = [migrations.RunPython(recount, migrations.RunPython.noop)]

"""Inventory points at no orders table: reservations and ledger movements keep the order line's id only.

Databases made before this change have foreign keys from inventory_reservation.line_id and
inventory_stockmove.order_line_id to orders_orderline (migration 0002 made them then); drop them, keeping the
columns and their indexes. A database made since has none, and this changes nothing. Depends on no orders
migration: without the orders table there is nothing to find.
"""

from django.db import migrations

DROP_FOREIGN_KEYS = """
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT conname, conrelid::regclass AS tbl FROM pg_constraint
        WHERE contype = 'f'
          AND confrelid = to_regclass('orders_orderline')
          AND conrelid IN (to_regclass('inventory_reservation'), to_regclass('inventory_stockmove'))
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', found.tbl, found.conname);
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_reserve_function")]

    operations = [migrations.RunSQL(DROP_FOREIGN_KEYS, migrations.RunSQL.noop)]

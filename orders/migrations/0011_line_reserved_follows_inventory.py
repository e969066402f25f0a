"""orders_orderline.reserved is kept by the database from inventory's reservations and shipments
(orders/sql/line_reserved.sql): no application code writes it any more."""

from django.db import migrations

from oms import sqlfiles

# What this migration installs (see oms/sqlfiles.py): a change to the file needs a new migration.
INSTALLS = {"orders/sql/line_reserved.sql": "48bd20e9dd03750d67dd42807c3e55364b2aa0464042f622378f08e4d3b5c851"}

DROP = """
DROP TRIGGER IF EXISTS orders_line_reserved_insert ON inventory_reservation;
DROP TRIGGER IF EXISTS orders_line_reserved_update ON inventory_reservation;
DROP TRIGGER IF EXISTS orders_line_reserved_delete ON inventory_reservation;
DROP TRIGGER IF EXISTS orders_line_reserved_moves ON inventory_stockmove;
DROP FUNCTION IF EXISTS orders_line_follows_reservations();
DROP FUNCTION IF EXISTS orders_line_follows_shipments();
"""


class Migration(migrations.Migration):
    dependencies = [("orders", "0010_categories_and_cost"), ("inventory", "0011_reserve_sql_file")]

    operations = [migrations.RunSQL(sqlfiles.read("orders/sql/line_reserved.sql"), DROP)]

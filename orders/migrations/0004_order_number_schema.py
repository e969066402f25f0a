"""Per-tenant order-number sequences move from `public` to their own schema, the one place the application role
may create objects (it creates a shop's sequence when the shop is made)."""

from django.db import migrations

MOVE = """
CREATE SCHEMA IF NOT EXISTS order_numbers;
DO $$
DECLARE seq record;
BEGIN
  FOR seq IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'S' AND n.nspname = 'public' AND c.relname ~ '^order_number_t[0-9]+$'
  LOOP
    EXECUTE format('ALTER SEQUENCE public.%I SET SCHEMA order_numbers', seq.relname);
    EXECUTE format('ALTER SEQUENCE order_numbers.%I RENAME TO %I', seq.relname, 't' || substr(seq.relname, 15));
  END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_customer_name_trigram")]
    operations = [migrations.RunSQL(MOVE, migrations.RunSQL.noop)]

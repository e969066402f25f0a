"""The reservation as a database function: one round trip, and a plan that PL/pgSQL caches per session.

`inventory.services.reserve` calls it. Rows are locked in the order of locks.py: (product, warehouse).
Allocation is greedy, like filling the demands of a product one after another from its warehouses in order of
preference: the units demand d takes from level s are the overlap of their intervals on the running totals of
need and supply. FOR UPDATE in READ COMMITTED returns the latest committed row versions, and the UPDATE re-reads
the row it changes (EvalPlanQual), so concurrent reservations queue on the row lock and never see stale figures.
Planning the statement costs more than running it, hence one generic plan (plan_cache_mode on the function).
SECURITY INVOKER (the default): row-level security applies to the caller as to any query.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION inventory_reserve(
    p_tenant bigint, p_lines bigint[], p_products bigint[], p_quantities bigint[], p_warehouses bigint[]
) RETURNS TABLE (line_id bigint, quantity bigint)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $body$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH demand AS (
        SELECT d.line_id, d.product_id,
               (SUM(d.quantity) OVER w)::bigint - d.quantity AS need_from, (SUM(d.quantity) OVER w)::bigint AS need_to
        FROM unnest(p_lines, p_products, p_quantities) WITH ORDINALITY AS d(line_id, product_id, quantity, ord)
        WINDOW w AS (PARTITION BY d.product_id ORDER BY d.ord)
    ),
    locked AS (
        SELECT sl.id, sl.product_id, sl.warehouse_id, sl.on_hand - sl.reserved AS available,
               COALESCE(array_position(p_warehouses, sl.warehouse_id), 2147483647) AS preference,
               w.priority
        FROM inventory_stocklevel sl JOIN inventory_warehouse w ON w.id = sl.warehouse_id
        WHERE sl.tenant_id = p_tenant AND w.tenant_id = p_tenant AND w.is_active
          AND sl.product_id = ANY(p_products)
          AND (p_warehouses IS NULL OR sl.warehouse_id = ANY(p_warehouses))
        ORDER BY sl.product_id, sl.warehouse_id
        FOR UPDATE OF sl
    ),
    supply AS (
        SELECT id, product_id, warehouse_id,
               SUM(available) OVER w - available AS have_from, SUM(available) OVER w AS have_to
        FROM locked
        WHERE available > 0
        WINDOW w AS (PARTITION BY product_id ORDER BY preference, priority, warehouse_id)
    ),
    taken AS (
        SELECT s.id AS level_id, s.warehouse_id, s.product_id, d.line_id,
               LEAST(s.have_to, d.need_to) - GREATEST(s.have_from, d.need_from) AS quantity
        FROM supply s JOIN demand d ON d.product_id = s.product_id
        WHERE LEAST(s.have_to, d.need_to) > GREATEST(s.have_from, d.need_from)
    ),
    counted AS (
        UPDATE inventory_stocklevel sl SET reserved = sl.reserved + t.quantity
        FROM (SELECT level_id, SUM(quantity) AS quantity FROM taken GROUP BY level_id) t
        WHERE sl.id = t.level_id
    ),
    held AS (
        INSERT INTO inventory_reservation (tenant_id, line_id, warehouse_id, product_id, quantity, created_at)
        SELECT p_tenant, line_id, warehouse_id, product_id, SUM(quantity)::bigint, now()
        FROM taken GROUP BY line_id, warehouse_id, product_id
        ON CONFLICT (tenant_id, line_id, warehouse_id)
        DO UPDATE SET quantity = inventory_reservation.quantity + EXCLUDED.quantity
    )
    SELECT t.line_id, SUM(t.quantity)::bigint FROM taken t GROUP BY t.line_id;
END
$body$
"""

DROP = "DROP FUNCTION inventory_reserve(bigint, bigint[], bigint[], bigint[], bigint[])"


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]

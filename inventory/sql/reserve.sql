-- The reservation rule, once: `inventory_reserve` is the only code that allocates stock to order lines.
--
-- This file is the source. Migrations install it as it is (oms/sqlfiles.py); a change here needs a new
-- migration that installs it again and pins the new checksum (tests/oms/test_sql_files.py fails until
-- there is one, and checks that the database holds exactly this text).
--
-- inventory.services.reserve calls it. Rows are locked in the order of locks.py: (product, warehouse).
-- Allocation is greedy, like filling the demands of a product one after another from its warehouses in order of
-- preference (the warehouses of p_warehouses in that order, when given, only those; then by priority); inactive
-- warehouses are skipped. The units demand d takes from level s are the overlap of their intervals on the running
-- totals of need and supply. FOR UPDATE in READ COMMITTED returns the latest committed row versions, and the
-- UPDATE re-reads the row it changes (EvalPlanQual), so concurrent reservations queue on the row lock and never see
-- stale figures: never more than on hand minus reserved.
--
-- The commonest call, one demand with no warehouse list that the first warehouse with stock can serve whole, is
-- the same rule in a shorter statement: its UPDATE checks the figures on the latest row version under its own row
-- lock, its only lock, and the reservation rides the same statement. Finding too little it changes nothing, and
-- the general statement decides under locks. A row lock is kept even when the re-check fails, so the shortcut is
-- taken only when that row is the product's first in lock order: the general statement then locks no earlier row
-- while holding it (otherwise it would deadlock with one that locks in (product, warehouse) order).
--
-- Returns the units newly reserved per line. Planning costs more than running, hence one generic plan per session
-- (plan_cache_mode). SECURITY INVOKER (the default): row-level security applies to the caller as to any query.
CREATE OR REPLACE FUNCTION inventory_reserve(
    p_tenant bigint, p_lines bigint[], p_products bigint[], p_quantities bigint[], p_warehouses bigint[]
) RETURNS TABLE (line_id bigint, quantity bigint)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $body$
#variable_conflict use_column
BEGIN
    IF p_warehouses IS NULL AND cardinality(p_lines) = 1 THEN
        RETURN QUERY
        WITH preferred AS (
            SELECT sl.id, sl.warehouse_id
            FROM inventory_stocklevel sl JOIN inventory_warehouse w ON w.id = sl.warehouse_id
            WHERE sl.tenant_id = p_tenant AND w.tenant_id = p_tenant AND w.is_active
              AND sl.product_id = p_products[1] AND sl.on_hand > sl.reserved
            ORDER BY w.priority, sl.warehouse_id
            LIMIT 1
        ),
        first_stocked AS (
            SELECT p.id FROM preferred p
            WHERE NOT EXISTS (
                SELECT 1 FROM inventory_stocklevel e JOIN inventory_warehouse ew ON ew.id = e.warehouse_id
                WHERE e.tenant_id = p_tenant AND ew.tenant_id = p_tenant AND ew.is_active
                  AND e.product_id = p_products[1] AND e.warehouse_id < p.warehouse_id
            )
        ),
        taken AS (
            UPDATE inventory_stocklevel sl SET reserved = sl.reserved + p_quantities[1]
            FROM first_stocked
            WHERE sl.id = first_stocked.id AND sl.reserved + p_quantities[1] <= sl.on_hand
            RETURNING sl.warehouse_id
        ),
        held AS (
            INSERT INTO inventory_reservation (tenant_id, line_id, warehouse_id, product_id, quantity, created_at)
            SELECT p_tenant, p_lines[1], warehouse_id, p_products[1], p_quantities[1], now() FROM taken
            ON CONFLICT (tenant_id, line_id, warehouse_id)
            DO UPDATE SET quantity = inventory_reservation.quantity + EXCLUDED.quantity
        )
        SELECT p_lines[1], p_quantities[1] FROM taken;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;

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
$body$;

-- orders_orderline.reserved follows inventory, kept by the database: no application code writes it.
--
-- A line's `reserved` is the units held for it: reserved in a warehouse (its inventory_reservation rows) plus units
-- that left stock with it (`shipment` movements naming the line) and did not come back (`return` movements naming
-- it; never below nothing). So it rises when inventory reserves, falls when inventory releases (cancel, a smaller
-- line, a lost parcel written off), stays when a delivery ships the reserved units out, and falls when a parcel is
-- received back (or a customer sends units back).
-- inventory's check_stock holds every line to that sum (orders.selectors.reserved_drift).
--
-- Statement-level triggers with transition tables: one UPDATE per statement of inventory, whatever the number of
-- lines it touched, inside that statement (nothing more for the application to send). They run as the caller, so
-- row-level security applies as to any query. This file is the source; see oms/sqlfiles.py for how it is installed.
CREATE OR REPLACE FUNCTION orders_line_follows_reservations() RETURNS trigger
LANGUAGE plpgsql
AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE orders_orderline l SET reserved = l.reserved + c.units
        FROM (SELECT tenant_id, line_id, SUM(quantity) AS units FROM new_rows GROUP BY tenant_id, line_id) c
        WHERE l.id = c.line_id AND l.tenant_id = c.tenant_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE orders_orderline l SET reserved = l.reserved + c.units
        FROM (
            SELECT tenant_id, line_id, SUM(units) AS units
            FROM (SELECT tenant_id, line_id, quantity AS units FROM new_rows
                  UNION ALL
                  SELECT tenant_id, line_id, -quantity FROM old_rows) changed
            GROUP BY tenant_id, line_id
            HAVING SUM(units) <> 0
        ) c
        WHERE l.id = c.line_id AND l.tenant_id = c.tenant_id;
    ELSE
        UPDATE orders_orderline l SET reserved = l.reserved - c.units
        FROM (SELECT tenant_id, line_id, SUM(quantity) AS units FROM old_rows GROUP BY tenant_id, line_id) c
        WHERE l.id = c.line_id AND l.tenant_id = c.tenant_id;
    END IF;
    RETURN NULL;
END
$body$;

-- A return never takes a line below zero: units back for a line that never shipped (a return recorded by hand)
-- leave it at nothing held, as the check (held + shipped less returned, at least 0) expects.
CREATE OR REPLACE FUNCTION orders_line_follows_shipments() RETURNS trigger
LANGUAGE plpgsql
AS $body$
BEGIN
    UPDATE orders_orderline l SET reserved = GREATEST(l.reserved - c.units, 0)
    FROM (
        SELECT tenant_id, order_line_id, SUM(quantity) AS units
        FROM new_rows
        WHERE order_line_id IS NOT NULL AND kind IN ('shipment', 'return')
        GROUP BY tenant_id, order_line_id
    ) c
    WHERE l.id = c.order_line_id AND l.tenant_id = c.tenant_id;
    RETURN NULL;
END
$body$;

DROP TRIGGER IF EXISTS orders_line_reserved_insert ON inventory_reservation;
CREATE TRIGGER orders_line_reserved_insert AFTER INSERT ON inventory_reservation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_line_follows_reservations();

DROP TRIGGER IF EXISTS orders_line_reserved_update ON inventory_reservation;
CREATE TRIGGER orders_line_reserved_update AFTER UPDATE ON inventory_reservation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_line_follows_reservations();

DROP TRIGGER IF EXISTS orders_line_reserved_delete ON inventory_reservation;
CREATE TRIGGER orders_line_reserved_delete AFTER DELETE ON inventory_reservation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_line_follows_reservations();

DROP TRIGGER IF EXISTS orders_line_reserved_moves ON inventory_stockmove;
CREATE TRIGGER orders_line_reserved_moves AFTER INSERT ON inventory_stockmove
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_line_follows_shipments();

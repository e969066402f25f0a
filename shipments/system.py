"""Cross-tenant questions of the shipments module's sweeps (see oms/rls.py)."""

from oms.rls import system_function

tenants_with_open_routes = system_function(
    "shipments_tenants_with_open_routes",
    arguments="p_today date",
    returns="SETOF bigint",
    body="SELECT DISTINCT tenant_id FROM shipments_route WHERE closed_at IS NULL AND date <= p_today",
)

due_polls = system_function(
    "shipments_due_polls",
    arguments="p_now timestamptz, p_limit integer",
    returns="TABLE (id bigint, tenant_id bigint)",
    body="SELECT id, tenant_id FROM shipments_shipment WHERE next_poll_at IS NOT NULL AND next_poll_at <= p_now "
    "ORDER BY next_poll_at LIMIT p_limit",
)

"""Cross-tenant questions of the notifications module's sweeps (see oms/rls.py)."""

from oms.rls import system_function

due_deliveries = system_function(
    "notifications_due_deliveries",
    arguments="p_now timestamptz, p_limit integer",
    returns="TABLE (id bigint, tenant_id bigint)",
    body="SELECT d.id, d.tenant_id FROM notifications_webhookdelivery d "
    "JOIN notifications_webhookendpoint e ON e.id = d.endpoint_id "
    "WHERE d.state = 'pending' AND d.next_attempt_at <= p_now AND e.is_active "
    "AND (d.enqueued_until IS NULL OR d.enqueued_until < p_now) "
    "ORDER BY d.next_attempt_at LIMIT p_limit",
)

tenants_past_deadline = system_function(
    "notifications_tenants_past_deadline",
    arguments="p_now timestamptz",
    returns="SETOF bigint",
    # A SQL function's statement is planned without knowing p_now (as if a third of the table were due): without
    # the ORDER BY and LIMIT that plan reads every deadline (80 ms at 1,000,000), with them it walks the partial
    # index `orderdeadline_due` from its start. The sweep asks again after marking, so a shop past the first
    # TENANTS_SCAN deadlines is found in the next round.
    body="SELECT DISTINCT tenant_id FROM (SELECT tenant_id FROM notifications_orderdeadline "
    "WHERE overdue_at IS NULL AND due_at IS NOT NULL AND due_at <= p_now ORDER BY due_at LIMIT 10000) due",
)

due_messages = system_function(
    "notifications_due_messages",
    arguments="p_before timestamptz, p_limit integer",
    returns="TABLE (id bigint, tenant_id bigint, state varchar)",
    body="SELECT id, tenant_id, state FROM notifications_messagelog "
    "WHERE state IN ('queued', 'sending') AND next_attempt_at < p_before ORDER BY next_attempt_at LIMIT p_limit",
)

message_tenant = system_function(
    "notifications_message_tenant",
    arguments="p_message_id bigint",
    returns="bigint",
    body="SELECT tenant_id FROM notifications_messagelog WHERE id = p_message_id",
)

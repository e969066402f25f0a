"""The core's cross-tenant questions (see oms/rls.py): each a SECURITY DEFINER function of the system role."""

from .rls import system_function

member_tenants = system_function(
    "oms_member_tenants",
    arguments="p_user_id bigint",
    returns="SETOF bigint",
    body="SELECT tenant_id FROM oms_membership WHERE user_id = p_user_id AND is_active ORDER BY tenant_id",
)

shared_logins = system_function(
    "oms_shared_logins",
    arguments="p_user_ids bigint[], p_tenant_id bigint",
    returns="SETOF bigint",
    # Deactivated memberships count: a password this shop set would open the other shop the day it reactivates.
    body="SELECT DISTINCT user_id FROM oms_membership WHERE user_id = ANY(p_user_ids) AND tenant_id <> p_tenant_id",
)

token_tenant = system_function(
    "oms_token_tenant",
    arguments="p_token_hash text",
    returns="bigint",
    body="SELECT tenant_id FROM oms_apitoken WHERE token_hash = p_token_hash AND revoked_at IS NULL",
)

event_tenant = system_function(
    "oms_event_tenant",
    arguments="p_event_id bigint",
    returns="bigint",
    body="SELECT tenant_id FROM oms_event WHERE id = p_event_id AND dispatched_at IS NULL",
)

stale_events = system_function(
    "oms_stale_events",
    arguments="p_before timestamptz, p_limit integer",
    returns="SETOF bigint",
    body="SELECT id FROM oms_event WHERE dispatched_at IS NULL AND failed_at IS NULL AND next_attempt_at < p_before "
    "ORDER BY next_attempt_at LIMIT p_limit",
)

job_tenant = system_function(
    "oms_job_tenant",
    arguments="p_job_id bigint",
    returns="bigint",
    body="SELECT tenant_id FROM oms_job WHERE id = p_job_id",
)

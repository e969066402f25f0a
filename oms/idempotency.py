"""Idempotency-Key for API writes: a repeat with the same key and body gets the first answer again."""

import hashlib
import json

from django.db import transaction

from .db import fetch_prepared, send_ahead
from .errors import Conflict, DomainError
from .models import IdempotencyKey

MAX_KEY_LENGTH = 255


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


def body_fingerprint(raw: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = raw.decode("utf-8", "replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(*, request, scope: str, produce):
    """Run `produce() -> (status, body)` at most once per (tenant, scope, Idempotency-Key).

    The key row is inserted in the same transaction as the write, so a concurrent repeat waits for the first
    to commit and then replays its answer; a failed write leaves no key behind.
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return produce()
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.")
    fingerprint = body_fingerprint(request.body)
    with transaction.atomic():
        claimed = fetch_prepared(  # every API write with a key: prepared
            "INSERT INTO oms_idempotencykey (tenant_id, key, scope, request_hash, created_at) "
            "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (tenant_id, scope, key) DO NOTHING RETURNING id",
            [request.tenant.pk, key, scope, fingerprint],
        )
        inserted = claimed[0] if claimed else None
        if inserted is None:
            first = IdempotencyKey.objects.get(tenant=request.tenant, scope=scope, key=key)
            if first.request_hash != fingerprint:
                raise IdempotencyConflict("This Idempotency-Key was already used with a different request body.")
            return first.status_code, first.response_body
        status, body = produce()
        send_ahead(  # the answer kept for a repeat: it goes with the COMMIT
            "UPDATE oms_idempotencykey SET status_code = %s, response_body = %s::jsonb WHERE id = %s",
            [status, json.dumps(body), inserted[0]],
        )
        return status, body

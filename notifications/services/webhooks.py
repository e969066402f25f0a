"""Outgoing webhooks, signed per the Standard Webhooks specification.

An event becomes one `WebhookMessage` (its body is fixed once, so an event id never goes out as two different
bodies) and one `WebhookDelivery` per subscribed endpoint. Deliveries are claimed by a short lease, sent, and
retried with growing delays on a schedule held in the database, so a restarted worker loses nothing.
"""

import base64
import json
import logging
import secrets
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from standardwebhooks import Webhook

from oms import event_catalogue, http, rls
from oms.db import AnyOf, HotQuery, RowsInsert, fetch_prepared
from oms.errors import DomainError
from oms.events import enqueue_after_commit, memo, send_task
from oms.models import Event

from .. import locks
from ..errors import InvalidUrl
from ..models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from . import inbox

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
# Delay before attempt 2, 3, ... 8 (Standard Webhooks' suggested schedule): 8 attempts over about 27.6 hours.
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_LEASE = timedelta(seconds=60)
QUEUE_LEASE = timedelta(minutes=2)  # a queued attempt whose message was lost is queued again after this
# A "long run of failures": this many failed attempts in a row, over at least this long, with no success between.
DISABLE_AFTER_FAILURES = 20
DISABLE_AFTER_FAILING_FOR = timedelta(days=2)
ROTATION_GRACE = timedelta(hours=24)
SWEEP_BATCH = 200
# Deliveries of one endpoint sent one after another by one task: a burst costs a few messages, not one per delivery,
# and even at the timeout on every one the last is attempted within QUEUE_LEASE (never queued twice meanwhile).
DELIVERIES_PER_TASK = 10
SLOW_ATTEMPT_MS = 1000  # after an attempt this slow (or a failed one) the endpoint is read again before the next


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    """What an admin saves: an http(s) URL the guarded client would fetch (no internal address, SSRF).
    It looks the host up: call it before a transaction, never inside one."""
    if len((url or "").strip()) > 500:
        raise InvalidUrl(gettext("The URL must be at most 500 characters."), details={"url": url[:500]})
    try:
        return http.check_url(url)
    except http.UnsafeUrl as exc:
        raise InvalidUrl(exc.message, details=exc.details) from exc


def _check_events(events: list[str]) -> list[str]:
    events = list(dict.fromkeys(e.strip() for e in events or [] if e and e.strip()))
    unknown = [e for e in events if e not in event_catalogue.BY_KIND]
    if not events or unknown:
        raise DomainError(
            gettext("Choose one or more events: %(events)s.") % {"events": ", ".join(event_catalogue.KINDS)},
            details={"unknown": unknown, "field": "events"},
        )
    return events


def create_endpoint(*, tenant, url: str, events: list[str], description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint; its secret is returned here once (the only time it is shown)."""
    url = check_url(url)  # a DNS lookup: before the transaction, not inside it
    events = _check_events(events)
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant, url=url, events=events, description=(description or "")[:200], secret=secret
        )
    return endpoint, secret


@transaction.atomic
def rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing alongside it for 24 hours so receivers can switch over."""
    endpoint = locks.lock_endpoint(endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint.secret


def set_endpoint_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    endpoint.is_active = active
    if active:
        endpoint.disabled_reason, endpoint.consecutive_failures, endpoint.failing_since = "", 0, None
    endpoint.save(update_fields=["is_active", "disabled_reason", "consecutive_failures", "failing_since"])
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def body_of(*, kind: str, at: datetime, payload: dict) -> dict:
    """What a receiver gets: `{"type", "timestamp", "data"}`; keys starting with `_` are internal and left out."""
    data = {k: v for k, v in payload.items() if not k.startswith("_")}
    return {"type": kind, "timestamp": at.isoformat(), "data": data}


def message_body(event: Event) -> str:
    return json.dumps(
        body_of(kind=event.kind, at=event.created_at, payload=event.payload),
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


# A dispatch and a delivery of every event an endpoint takes run these (oms.db: built once, one INSERT each).
_message_of_event = HotQuery(lambda event_id: WebhookMessage.objects.filter(event_id=event_id), event_id=-7_302_001)
WebhookDelivery._meta.pk.register_lookup(AnyOf)
_deliveries_to_make = HotQuery(
    lambda pks: WebhookDelivery.objects.select_related("endpoint", "message").filter(pk__any_of=pks).order_by("pk"),
    prepared=True,  # rows by their keys, with their endpoints and messages by theirs
    pks=[-7_302_002],
)
_write_messages, _write_deliveries = RowsInsert(WebhookMessage), RowsInsert(WebhookDelivery)


def message_for(event: Event) -> tuple[WebhookMessage, bool]:
    """The event's one body, made on first need and never changed; and whether it was made now. Called while the
    event's dispatch holds the event row, so two callers never race to make it."""
    message = _message_of_event.first(event_id=event.pk)
    if message is not None:
        return message, False
    (made,) = _write_messages(
        [WebhookMessage(tenant_id=event.tenant_id, event=event, kind=event.kind, body=message_body(event))]
    )
    return made, True


def enqueue(*, event: Event, endpoints) -> list[WebhookDelivery]:
    """One delivery per endpoint for the event (never two: a unique constraint backs this), sent after commit."""
    endpoints = list(endpoints)
    if not endpoints:
        return []
    message, new = message_for(event)
    have = (
        set()
        if new
        else set(
            WebhookDelivery.objects.filter(message=message, endpoint__in=endpoints).values_list(
                "endpoint_id", flat=True
            )
        )
    )
    now = timezone.now()
    created = _write_deliveries(
        [
            WebhookDelivery(tenant_id=event.tenant_id, endpoint=endpoint, message=message, next_attempt_at=now)
            for endpoint in endpoints
            if endpoint.pk not in have
        ]
    )
    if created:
        _queue_after_commit(event.tenant_id, [delivery.pk for delivery in created])
    return created


def _queue_after_commit(tenant_id: int, delivery_ids: list[int]) -> None:
    """The deliveries are queued once the transaction that made them commits; a dispatch batch's deliveries all in one
    go (the list is kept for the batch by `memo`)."""
    memo(("webhook-deliveries-made", tenant_id), lambda: _new_queue_batch(tenant_id)).extend(delivery_ids)


def _new_queue_batch(tenant_id: int) -> list[int]:
    batch: list[int] = []
    # robust: a failure here is logged and the sweep queues them (within 15 s); the dispatch has committed anyway
    transaction.on_commit(lambda: queue_made(tenant_id, batch), robust=True)
    return batch


def queue_made(tenant_id: int, delivery_ids: list[int]) -> int:
    """After commit, outside any transaction: claim the new deliveries for the queue and queue them (each once, as
    the sweep does). Returns how many were queued."""
    if not delivery_ids:
        return 0
    now = timezone.now()
    with rls.tenant_context(tenant_id), transaction.atomic():
        claimed = claim_for_queue(delivery_ids=delivery_ids, now=now)
    queue_claimed(tenant_id, claimed)
    return len(claimed)


def queue_claimed(tenant_id: int, claimed: list[tuple[int, int]]) -> None:
    """Put claimed deliveries (id, endpoint id) on the io queue: one task per endpoint and DELIVERIES_PER_TASK, so a
    slow endpoint holds up only its own deliveries. A message the broker loses is queued again by the sweep once
    the queue lease runs out; the send-time claim keeps a repeated message from sending twice."""
    from ..tasks import deliver_webhooks

    by_endpoint: dict[int, list[int]] = defaultdict(list)
    for delivery_id, endpoint_id in claimed:
        by_endpoint[endpoint_id].append(delivery_id)
    for ids in by_endpoint.values():
        for start in range(0, len(ids), DELIVERIES_PER_TASK):
            send_task(deliver_webhooks, ids[start : start + DELIVERIES_PER_TASK], tenant_id)


def claim_for_queue(*, delivery_ids: list[int], now: datetime) -> list[tuple[int, int]]:
    """The due deliveries (id, endpoint id) to put on the queue: claimed in one UPDATE … RETURNING, skipping rows
    another sweep or a sending worker holds, so each due attempt is queued once however long the backlog lasts."""
    if not delivery_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE notifications_webhookdelivery SET enqueued_until = %(until)s
            WHERE id IN (
                SELECT id FROM notifications_webhookdelivery
                WHERE id = ANY(%(ids)s) AND state = 'pending' AND next_attempt_at <= %(now)s
                  AND (enqueued_until IS NULL OR enqueued_until < %(now)s)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id, endpoint_id
            """,
            {"ids": delivery_ids, "now": now, "until": now + QUEUE_LEASE},
        )
        return sorted(cursor.fetchall())


def enqueue_for_subscribers(event: Event) -> list[WebhookDelivery]:
    """Endpoints subscribed to the kind that existed when the event happened: a new endpoint gets no backlog,
    however far behind the worker is."""
    subscribed = memo(
        ("webhook-endpoints", event.tenant_id, event.kind),
        lambda: list(
            WebhookEndpoint.objects.filter(tenant_id=event.tenant_id, is_active=True, events__contains=[event.kind])
        ),
    )
    return enqueue(event=event, endpoints=[e for e in subscribed if e.created_at <= event.created_at])


def signature_header(endpoint: WebhookEndpoint, msg_id: str, at: datetime, body: str, now: datetime) -> str:
    secrets_in_use = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets_in_use.append(endpoint.previous_secret)
    return " ".join(Webhook(s).sign(msg_id=msg_id, timestamp=at, data=body) for s in secrets_in_use)


def post(url: str, body: str, headers: dict) -> http.Response:
    """POST through the guarded client (vetted again at send time: the host may resolve elsewhere now)."""
    return http.request("POST", url, body=body.encode(), headers=headers, timeout=TIMEOUT_SECONDS, max_bytes=4096)


# Every delivery task starts with it: prepared (rows by their keys, and their endpoints by theirs).
_CLAIM = (
    f"UPDATE {WebhookDelivery._meta.db_table} AS d SET next_attempt_at = %s "  # noqa: S608 - the models' own tables
    f"FROM {WebhookEndpoint._meta.db_table} AS e "
    "WHERE d.id = ANY(%s) AND d.state = %s AND d.next_attempt_at <= %s AND e.id = d.endpoint_id AND e.is_active "
    "RETURNING d.id"
)
# An attempt and its outcome on the delivery, in one statement: alone, its own transaction and one round trip.
_RECORD = (
    f"WITH attempt AS (INSERT INTO {WebhookAttempt._meta.db_table} "  # noqa: S608 - the models' own tables
    "(tenant_id, delivery_id, number, status_code, error, duration_ms, at) VALUES (%s, %s, %s, %s, %s, %s, %s)) "
    f"UPDATE {WebhookDelivery._meta.db_table} SET attempts = %s, last_status_code = %s, state = %s, "
    "next_attempt_at = %s, enqueued_until = NULL WHERE id = %s"
)


def _lease(delivery_ids: list[int]) -> timedelta:
    return CLAIM_LEASE + timedelta(seconds=TIMEOUT_SECONDS) * len(delivery_ids)


def _claim(delivery_ids: list[int], now: datetime) -> list[int]:
    """Hold the deliveries that are due and whose endpoint is active for this task's attempts, in one statement; a
    second claimant finds them held (their lease in the future) once this one commits. The lease covers every one of
    them taking the whole time limit, so none is claimed again while it waits its turn here."""
    return [
        row[0]
        for row in fetch_prepared(_CLAIM, [now + _lease(delivery_ids), delivery_ids, DeliveryState.PENDING.value, now])
    ]


def deliver(delivery_ids: list[int]) -> int:
    """Make the next attempt of each delivery that is due and that nobody else holds (one endpoint's, oldest first),
    recording each outcome as soon as it is known; returns how many were attempted. One claim and one read for the
    lot, then one round trip per outcome."""
    now = timezone.now()
    claimed = _claim(list(delivery_ids), now)
    if not claimed:
        return 0
    # The time limit starts after the host's lookup, so slow lookups can outlast the lease: a delivery is sent only
    # while CLAIM_LEASE of it is left, else the sweep may have queued it again for another worker meanwhile.
    last_start = now + _lease(list(delivery_ids)) - CLAIM_LEASE
    attempted, endpoints, read_again = 0, {}, False
    for delivery in _deliveries_to_make(pks=claimed):
        if timezone.now() > last_start:
            break  # the rest are due again once their lease runs out
        if read_again:
            # After a failed or slow attempt (when an admin is likeliest to switch the endpoint off or correct its
            # URL meanwhile) the endpoint is read again: the rest go to what it is now, or wait if it is off.
            fresh = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, is_active=True).first()
            if fresh is None:
                break
            endpoints[fresh.pk] = fresh
        # One object per endpoint, so each attempt sees the failures the ones before it counted.
        delivery.endpoint = endpoints.setdefault(delivery.endpoint_id, delivery.endpoint)
        status_code, error, duration_ms = _send(delivery, now)
        attempted += 1
        if not _record(delivery, status_code, error, duration_ms):
            break  # the endpoint was disabled just now: the rest wait, held until their lease runs out
        read_again = not _succeeded(status_code) or duration_ms >= SLOW_ATTEMPT_MS
    return attempted


def _succeeded(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def _send(delivery: WebhookDelivery, now: datetime) -> tuple[int | None, str, int]:
    """POST the delivery's message, signed; (status code or None, error, milliseconds)."""
    endpoint, message = delivery.endpoint, delivery.message
    at = datetime.fromtimestamp(int(time.time()), tz=UTC)
    msg_id = str(message.event_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OMS-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(endpoint, msg_id, at, message.body, now),
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        answer = post(endpoint.url, message.body, headers)
        status_code = answer.status
        if 300 <= answer.status < 400:  # never followed: the body and signature stay with the endpoint's host
            error = f"Redirect to {answer.headers.get('location', '?')[:200]} not followed."
    except http.OutboundError as exc:  # refused address, connection refused, timeout, TLS, too large
        error = exc.message[:500]
    return status_code, error, int((time.monotonic() - started) * 1000)


def _record(delivery: WebhookDelivery, status_code, error: str, duration_ms: int) -> bool:
    """The attempt and its outcome; False when the failure disabled the endpoint. A success at an endpoint with no
    failures to forget (nearly every attempt) is one statement."""
    now = timezone.now()
    number = delivery.attempts + 1
    ok = _succeeded(status_code)
    if ok:
        state, next_attempt_at = DeliveryState.SUCCEEDED, None
    elif number >= MAX_ATTEMPTS:
        state, next_attempt_at = DeliveryState.FAILED, None
    else:
        state, next_attempt_at = DeliveryState.PENDING, now + RETRY_DELAYS[number - 1]
    outcome = [delivery.tenant_id, delivery.pk, number, status_code, error, duration_ms, now]
    outcome += [number, status_code, state.value, next_attempt_at, delivery.pk]
    endpoint = delivery.endpoint
    if ok and not endpoint.consecutive_failures:
        fetch_prepared(_RECORD, outcome)
        return True
    with transaction.atomic():
        fetch_prepared(_RECORD, outcome)
        endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
        if ok:
            # One that failed meanwhile, during this attempt, is reset by the next attempt to start after that failure.
            endpoints.exclude(consecutive_failures=0).update(consecutive_failures=0, failing_since=None)
            endpoint.consecutive_failures = 0
            return True
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        endpoint.consecutive_failures += 1
        endpoints.filter(failing_since__isnull=True).update(failing_since=now)
        return _disable_if_failing(endpoint.pk, now)


def _disable_if_failing(endpoint_id: int, now: datetime) -> bool:
    """Disable an endpoint after a long run of failures; whether it is still active."""
    endpoint = locks.lock_endpoint(endpoint_id)
    if not endpoint.is_active:
        return False
    if endpoint.consecutive_failures < DISABLE_AFTER_FAILURES:
        return True
    if endpoint.failing_since is None or now - endpoint.failing_since < DISABLE_AFTER_FAILING_FOR:
        return True  # a burst of failures (a backlog meeting a short outage) is not yet a long run
    endpoint.is_active = False
    endpoint.disabled_reason = (
        f"Disabled automatically after {endpoint.consecutive_failures} failed attempts in a row "
        f"since {endpoint.failing_since:%Y-%m-%d %H:%M}."
    )
    endpoint.save(update_fields=["is_active", "disabled_reason"])
    inbox.create_alerts(
        tenant=endpoint.tenant,
        user_ids=inbox.resolve_recipients(tenant=endpoint.tenant, spec="admins"),
        title=lambda: gettext("Webhook to %(url)s was disabled") % {"url": endpoint.url[:120]},
        body=endpoint.disabled_reason,
        url=f"/alerts/settings/webhooks/{endpoint.pk}/",
        dedupe_key=f"webhook-disabled:{endpoint.pk}:{int(timezone.now().timestamp())}",
    )
    return False


@transaction.atomic
def send_again(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue one more attempt now, with the same body and id (the admin's "send again")."""
    delivery = locks.lock_delivery(delivery.pk)
    delivery.state, delivery.next_attempt_at = DeliveryState.PENDING, timezone.now()
    delivery.save(update_fields=["state", "next_attempt_at"])
    from ..tasks import deliver_webhooks

    enqueue_after_commit(deliver_webhooks, [delivery.pk], delivery.tenant_id)
    return delivery

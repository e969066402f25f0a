"""The event outbox.

A change records its event in the same transaction (`record_event(tenant=..., event=OrderCreated(...))`, the
kinds are declared in `oms.event_catalogue`); after commit a task dispatches it to the subscribers that higher
apps registered in their `AppConfig.ready()`. Each subscriber runs at most once
per event (an `EventHandled` row, written in the transaction of the subscriber's work), so re-running a dispatch —
twice by accident, or after a worker died — never repeats work.
"""

import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import rls, system
from .db import RowsInsert
from .event_catalogue import DomainEvent
from .models import Event, EventHandled

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
_subscribers: dict[str, list[tuple[str, Handler]]] = defaultdict(list)
ANY_KIND = "*"
BATCH = 100  # events a dispatch transaction takes at most
FLAG_TTL = 60  # seconds a "task queued" flag lives if its task never starts (the sweeps cover what waits meanwhile)
MAX_ATTEMPTS = 8  # about two hours of back-off, then the event waits for an admin
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
# How many event-driven reactions deep the current change is (0: a person, the API or a schedule started it).
# Automation sets it while it acts, so the events it causes carry payload["_depth"] and chains stay bounded.
event_depth: ContextVar[int] = ContextVar("event_depth", default=0)


def subscribe(kind: type[DomainEvent] | str, handler: Handler, *, name: str | None = None) -> None:
    """Register `handler` for events of a catalogue kind (or every kind with "*"). Name must be stable across
    deploys."""
    kind = kind if isinstance(kind, str) else kind.kind
    name = name or f"{handler.__module__}.{handler.__qualname__}"
    if all(existing != name for existing, _ in _subscribers[kind]):
        _subscribers[kind].append((name, handler))


def subscribers_for(kind: str) -> list[tuple[str, Handler]]:
    return _subscribers.get(kind, []) + _subscribers.get(ANY_KIND, [])


def outbox_row(*, tenant_id: int, event: DomainEvent) -> Event:
    """The unsaved outbox row of an event, for callers that write many at once (`bulk_create`)."""
    payload = event.payload()
    depth = event_depth.get()
    if depth:
        payload["_depth"] = depth
    return Event(tenant_id=tenant_id, kind=event.kind, payload=payload)


_write_events = RowsInsert(Event)
_write_events_unanswered = RowsInsert(Event, unanswered=True)  # a change's own events: nobody reads their ids


# The claimed events are locked by their dispatch: no other can write their rows, and nobody reads these ids.
_write_handled = RowsInsert(EventHandled, unanswered=True)


def _written(rows: list[Event], write=_write_events) -> list[Event]:
    """The outbox rows in one INSERT whose rows are one JSON parameter (1,000 events in a few ms)."""
    now = timezone.now()
    for row in rows:
        row.created_at = row.next_attempt_at = now
    return write(rows)


def record_events(*, events: list[tuple[int, DomainEvent]]) -> list[int]:
    """Write many (tenant id, event) in the caller's transaction with one INSERT; after commit they are dispatched
    in one broker message, not one per event (1,000 publishes cost ~10 s); the outbox sweep backs it up. Returns
    the events' ids."""
    if not events:
        return []
    ids = [row.pk for row in _written([outbox_row(tenant_id=tenant_id, event=event) for tenant_id, event in events])]
    from .tasks import dispatch_events

    enqueue_after_commit(dispatch_events, ids)
    return ids


def record_event(*, tenant, event: DomainEvent) -> None:
    """Write an event in the caller's transaction; it is dispatched only if that transaction commits."""
    record_tenant_events(tenant=tenant, events=[event])


def record_tenant_events(*, tenant, events: list[DomainEvent]) -> None:
    """Write one change's events (one shop's) in the caller's transaction with one INSERT, sent ahead of the
    transaction's next statement or its COMMIT; once it commits, one dispatch of the shop's due events is asked for
    (`kick`)."""
    _written([outbox_row(tenant_id=tenant.pk, event=event) for event in events], write=_write_events_unanswered)
    transaction.on_commit(lambda: kick(tenant.pk))


def enqueue_after_commit(task, *args) -> None:
    """Send a task once the transaction commits. The write has happened by then: a broker that is down must not
    turn it into an error (an API client would retry and duplicate it). The outbox sweep is the safety net."""
    transaction.on_commit(lambda: send_task(task, *args))


def send_task(task, *args, countdown: float | None = None) -> bool:
    """Put a task on the queue now (outside any transaction); a broker failure is logged, not raised (False)."""
    try:
        task.apply_async(args=list(args), retry=False, countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure; the sweep picks the work up
        logger.warning("Could not enqueue %s%r; the sweep will pick it up", task.name, args, exc_info=True)
        return False
    return True


def send_once(task, tenant_id: int, *, flag: str, countdown: float | None = None) -> None:
    """Queue `task(tenant_id)` unless one is already queued: the cache `flag` (which the task clears as it starts)
    says so. One task per burst of work instead of one per item. Anything lost (the cache or the broker away) is
    found by the sweeps."""
    try:
        queued_now = cache.add(flag, 1, timeout=FLAG_TTL)
    except Exception:  # noqa: BLE001 - the cache is away: queue one anyway
        logger.warning("Flag %s not set", flag, exc_info=True)
        queued_now = True
    if queued_now and not send_task(task, tenant_id, countdown=countdown):
        with contextlib.suppress(Exception):
            cache.delete(flag)  # nothing is on its way: let the next change try again


def dispatch(event_id: int, tenant_id: int | None = None) -> bool:
    """Run every subscriber of the event that has not run yet; True when the event is fully dispatched (or is not
    this worker's to dispatch now). `tenant_id`, when the caller knows it, saves the lookup; a wrong one finds no
    event behind the wall and does nothing."""
    if tenant_id is None:
        tenant_id = rls.system_value(system.event_tenant, event_id)  # the event says which tenant
        if tenant_id is None:
            return True
    with rls.tenant_context(tenant_id), transaction.atomic():
        claimed = _claim(pk=event_id)
        return _dispatch_claimed(claimed) == len(claimed)


def dispatch_due(tenant_id: int) -> int:
    """Dispatch the tenant's due events, oldest first, BATCH to a transaction, until none is left; returns how many.
    What intake's events start (see `kick`): one task works through a burst instead of a task per event."""
    done = 0
    with rls.tenant_context(tenant_id):
        while True:
            with transaction.atomic():
                claimed = _claim(limit=BATCH)
                _dispatch_claimed(claimed)
            done += len(claimed)
            if len(claimed) < BATCH:
                return done


def kick(tenant_id: int) -> None:
    """After commit: make sure a `dispatch_due` of the tenant is on its way, one per burst of events: it starts
    `EVENT_DISPATCH_WINDOW` seconds after the burst's first event, taking what came meanwhile."""
    from .tasks import dispatch_tenant

    send_once(dispatch_tenant, tenant_id, flag=kick_key(tenant_id), countdown=settings.EVENT_DISPATCH_WINDOW or None)


def kick_key(tenant_id: int) -> str:
    return f"oms:dispatch-queued:{tenant_id}"


def _claim(*, pk: int | None = None, limit: int = 1) -> list[Event]:
    """Take due events for this transaction: their rows stay locked until the dispatch commits, so a second
    dispatch of the same event (a repeated message, the sweep, another worker's batch) skips them, and a worker
    that dies mid-dispatch releases them with its rolled-back transaction for the sweep to try again."""
    due = Event.objects.select_for_update(skip_locked=True).filter(
        dispatched_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=timezone.now()
    )
    claimed = list((due if pk is None else due.filter(pk=pk)).order_by("pk")[:limit])
    if claimed:
        _commit_without_waiting_for_disk()
    return claimed


def _commit_without_waiting_for_disk() -> None:
    """The dispatch's COMMIT returns before its WAL reaches the disk (a flush per dispatch was much of its time).
    Safe: a crash can only lose a whole dispatch, which is then simply dispatched again; and whatever it set in
    motion outside the database (a webhook sent, a message sent) first commits its own claim synchronously, which
    flushes all WAL before it, this dispatch's included."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def backoff(attempts: int) -> timedelta:
    """Wait before attempt n + 1: 30 s, 1 min, 2 min … capped at an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


# What subscribers may keep for the length of one dispatch transaction (e.g. the tenant's triggers of a kind), so a
# batch asks once; None outside a dispatch.
_dispatch_memo: ContextVar[dict | None] = ContextVar("dispatch_memo", default=None)


def memo(key, compute: Callable):
    """`compute()`, kept for the rest of the current dispatch transaction under `key` (computed each time outside
    one). For what a batch's events all need and none of them changes."""
    kept = _dispatch_memo.get()
    if kept is None:
        return compute()
    if key not in kept:
        kept[key] = compute()
    return kept[key]


def _dispatch_claimed(claimed: list[Event]) -> int:
    """All subscribers of the claimed events in the claiming transaction, each in a savepoint (a failing one's
    writes are undone, the others' stay); the `EventHandled` rows of those that ran are written in one INSERT in the
    same transaction as their work, so each subscriber runs exactly once per event. Returns how many events are
    fully dispatched."""
    if not claimed:
        return 0
    # Some of its subscribers may have run already: it was tried before (an admin's retry starts the count anew, the
    # last error stays).
    retried = [event.pk for event in claimed if event.attempts or event.last_error]
    done = set(
        EventHandled.objects.filter(event_id__in=retried).values_list("event_id", "subscriber") if retried else ()
    )
    ran, failures = [], {}
    token = _dispatch_memo.set({})
    try:
        for event in claimed:
            for name, handler in subscribers_for(event.kind):
                if (event.pk, name) in done:
                    continue
                try:
                    with transaction.atomic():
                        handler(event)
                except Exception as exc:  # a failing subscriber must not block the others; a later attempt retries
                    logger.exception("Subscriber %s failed on event %s", name, event.pk)
                    # What it kept may hang on its undone savepoint (an after-commit hook that is now dropped).
                    _dispatch_memo.get().clear()
                    failures.setdefault(event, []).append(f"{name}: {exc}")
                else:
                    ran.append(EventHandled(event=event, subscriber=name))
    finally:
        _dispatch_memo.reset(token)
    if ran:
        _write_handled(ran)
    now = timezone.now()
    finished = [event.pk for event in claimed if event not in failures]
    if finished:
        Event.objects.filter(pk__in=finished).update(attempts=F("attempts") + 1, dispatched_at=now)
    for event, errors in failures.items():
        attempts = event.attempts + 1
        Event.objects.filter(pk=event.pk).update(
            attempts=attempts,
            last_error="\n".join(errors)[:2000],
            next_attempt_at=now + backoff(attempts),
            failed_at=now if attempts >= MAX_ATTEMPTS else None,
        )
    return len(finished)


def retry_failed(*, tenant, event_ids) -> int:
    """An admin's retry: failed events get a fresh set of attempts and are dispatched again."""
    from .tasks import dispatch_events

    with transaction.atomic():
        ids = list(
            Event.objects.filter(tenant=tenant, pk__in=list(event_ids), failed_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        Event.objects.filter(pk__in=ids).update(failed_at=None, attempts=0, next_attempt_at=timezone.now())
        if ids:
            enqueue_after_commit(dispatch_events, ids)
    return len(ids)

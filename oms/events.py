"""The event outbox.

A change records its event in the same transaction (`record_event(tenant=..., event=OrderCreated(...))`, the
kinds are declared in `oms.event_catalogue`); after commit a task dispatches it to the subscribers that higher
apps registered in their `AppConfig.ready()`. Each subscriber runs at most once
per event (an `EventHandled` row, written in the subscriber's own transaction), so re-running a dispatch —
twice by accident, or after a worker died — never repeats work.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import rls, system
from .event_catalogue import DomainEvent
from .models import Event, EventHandled

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
_subscribers: dict[str, list[tuple[str, Handler]]] = defaultdict(list)
ANY_KIND = "*"
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


def record_events(*, events: list[tuple[int, DomainEvent]]) -> list[Event]:
    """Write many (tenant id, event) in the caller's transaction with one INSERT; after commit they are dispatched
    in one broker message, not one per event (1,000 publishes cost ~10 s); the outbox sweep backs it up."""
    rows = Event.objects.bulk_create([outbox_row(tenant_id=t, event=e) for t, e in events], batch_size=1000)
    ids = [row.pk for row in rows]
    if ids:
        from .tasks import dispatch_events

        transaction.on_commit(lambda: dispatch_events.delay(ids))
    return rows


def record_event(*, tenant, event: DomainEvent) -> Event:
    """Write an event in the caller's transaction; it is dispatched only if that transaction commits."""
    row = outbox_row(tenant_id=tenant.pk, event=event)
    row.tenant = tenant
    row.save(force_insert=True)
    from .tasks import dispatch_event

    transaction.on_commit(lambda: dispatch_event.delay(row.pk))
    return row


def dispatch(event_id: int) -> bool:
    """Run every subscriber of the event that has not run yet; True when the event is fully dispatched."""
    tenant_id = rls.system_value(system.event_tenant, event_id)  # the event says which tenant
    if tenant_id is None:
        return True
    with rls.tenant_context(tenant_id):
        event = Event.objects.filter(pk=event_id, dispatched_at__isnull=True).first()
        if event is None:
            return True
        return _dispatch_bound(event)


def _dispatch_bound(event: Event) -> bool:
    failed = False
    for name, handler in subscribers_for(event.kind):
        try:
            _run_once(event, name, handler)
        except Exception as exc:  # a failing subscriber must not block the others; the sweep retries it
            failed = True
            logger.exception("Subscriber %s failed on event %s", name, event.pk)
            Event.objects.filter(pk=event.pk).update(last_error=f"{name}: {exc}"[:2000])
    Event.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    if not failed:
        Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    return not failed


def _run_once(event: Event, name: str, handler: Handler) -> None:
    with transaction.atomic():
        try:
            with transaction.atomic():
                EventHandled.objects.create(event=event, subscriber=name)
        except IntegrityError:
            return  # already handled by an earlier or concurrent dispatch
        handler(event)

"""Time limits: each order carries the deadline of its current status (`Order.sla_due_at`); a sweep over the
partial index `order_sla_due` finds the orders past it, so its cost grows with the overdue orders only."""

import datetime
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.utils import timezone

from oms.event_catalogue import OrderOverdue
from oms.events import outbox_row
from oms.models import Event, Membership, Role
from orders.models import Order, OrderStatus

from ..models import Alert, Holiday, TimeLimit

SWEEP_BATCH = 1000
WEEKDAYS = range(0, 5)  # Monday to Friday


def add_working_minutes(
    start: datetime.datetime,
    minutes: int,
    *,
    starts: datetime.time,
    ends: datetime.time,
    holidays: frozenset[datetime.date] = frozenset(),
) -> datetime.datetime:
    """`start` plus `minutes` counted only between `starts` and `ends` on weekdays that are no holidays, in the
    shop's time zone."""
    tz = timezone.get_current_timezone()
    current = timezone.localtime(start, tz)
    remaining = timedelta(minutes=minutes)
    for _ in range(366 * 20):
        day = current.date()
        if day.weekday() in WEEKDAYS and day not in holidays:
            open_at = datetime.datetime.combine(day, starts, tzinfo=tz)
            close_at = datetime.datetime.combine(day, ends, tzinfo=tz)
            begin = max(current, open_at)
            if begin < close_at:
                if remaining <= close_at - begin:
                    return begin + remaining
                remaining -= close_at - begin
        current = datetime.datetime.combine(day + timedelta(days=1), datetime.time(0), tzinfo=tz)
    raise ValueError("Time limit too long to place in working hours.")


def holidays_of(tenant_id: int) -> frozenset[datetime.date]:
    return frozenset(Holiday.objects.filter(tenant_id=tenant_id).values_list("day", flat=True))


def deadline(
    limit: TimeLimit | None, started_at: datetime.datetime, holidays: frozenset[datetime.date] | None = None
) -> datetime.datetime | None:
    """When an order that entered the limit's status at `started_at` becomes overdue (None: no limit)."""
    if limit is None or not limit.is_active:
        return None
    if limit.working_hours_only:
        days_off = holidays if holidays is not None else holidays_of(limit.tenant_id)
        return add_working_minutes(
            started_at, limit.minutes, starts=limit.work_starts, ends=limit.work_ends, holidays=days_off
        )
    return started_at + timedelta(minutes=limit.minutes)


def sync_deadline(*, order_id: int, tenant_id: int) -> datetime.datetime | None:
    """Set the order's deadline from its current status's limit (idempotent: reads the order, not the event)."""
    order = (
        Order.objects.filter(tenant_id=tenant_id, pk=order_id)
        .only("pk", "status_id", "status_changed_at", "sla_due_at", "is_overdue")
        .first()
    )
    if order is None:
        return None
    limit = TimeLimit.objects.filter(tenant_id=tenant_id, status_id=order.status_id, is_active=True).first()
    due = deadline(limit, order.status_changed_at)
    if due != order.sla_due_at:
        # Guarded by status and start: a later status change is never overwritten by this older computation.
        Order.objects.filter(pk=order.pk, status_id=order.status_id, status_changed_at=order.status_changed_at).update(
            sla_due_at=due
        )
    return due


@transaction.atomic
def save_time_limit(
    *,
    tenant,
    status: OrderStatus,
    minutes: int,
    working_hours_only: bool = False,
    work_starts: datetime.time = datetime.time(9, 0),
    work_ends: datetime.time = datetime.time(18, 0),
    is_active: bool = True,
) -> TimeLimit:
    """Create or change the limit of a status and re-plan the deadlines of the orders now in it."""
    from oms.errors import DomainError

    if status.tenant_id != tenant.pk:
        raise DomainError("That status does not belong to this shop.")
    if not 0 < minutes <= 60 * 24 * 365:
        raise DomainError("The limit must be between 1 minute and 365 days.")
    if work_ends <= work_starts:
        raise DomainError("Working hours must end after they start.")
    limit, _ = TimeLimit.objects.update_or_create(
        tenant=tenant,
        status=status,
        defaults={
            "minutes": minutes,
            "working_hours_only": working_hours_only,
            "work_starts": work_starts,
            "work_ends": work_ends,
            "is_active": is_active,
        },
    )
    replan_status(tenant=tenant, status_id=status.pk)
    return limit


@transaction.atomic
def delete_time_limit(*, limit: TimeLimit) -> None:
    tenant, status_id = limit.tenant, limit.status_id
    limit.delete()
    replan_status(tenant=tenant, status_id=status_id)


def replan_status(*, tenant, status_id: int) -> int:
    """Recompute the deadline of every order in a status (after its limit changed)."""
    limit = TimeLimit.objects.filter(tenant=tenant, status_id=status_id, is_active=True).first()
    orders = Order.objects.filter(tenant=tenant, status_id=status_id)
    if limit is None:
        return orders.exclude(sla_due_at=None).update(sla_due_at=None)
    if not limit.working_hours_only:
        return orders.update(
            sla_due_at=ExpressionWrapper(
                F("status_changed_at") + timedelta(minutes=limit.minutes), output_field=DateTimeField()
            )
        )
    changed, days_off = 0, holidays_of(tenant.pk)
    for pk, started in orders.values_list("pk", "status_changed_at").iterator(chunk_size=2000):
        changed += Order.objects.filter(pk=pk).update(sla_due_at=deadline(limit, started, days_off))
    return changed


def _replan_working_hours_limits(tenant) -> None:
    for status_id in TimeLimit.objects.filter(tenant=tenant, is_active=True, working_hours_only=True).values_list(
        "status_id", flat=True
    ):
        replan_status(tenant=tenant, status_id=status_id)


@transaction.atomic
def add_holiday(*, tenant, day: datetime.date, name: str = "") -> Holiday:
    """A day off for the whole shop; deadlines counted in working hours move past it."""
    from oms.errors import DomainError

    name = (name or "").strip()
    if not datetime.date(2000, 1, 1) <= day <= datetime.date(2100, 12, 31):
        raise DomainError("Choose a day between 2000 and 2100.")
    if len(name) > 100:
        raise DomainError("A holiday name can have at most 100 characters.")
    holiday, created = Holiday.objects.get_or_create(tenant=tenant, day=day, defaults={"name": name})
    if not created:
        raise DomainError(f"{day:%Y-%m-%d} is already a holiday.")
    _replan_working_hours_limits(tenant)
    return holiday


@transaction.atomic
def remove_holiday(*, holiday: Holiday) -> None:
    tenant = holiday.tenant
    holiday.delete()
    _replan_working_hours_limits(tenant)


def _manager_ids(tenant_id: int, cache: dict) -> list[int]:
    if tenant_id not in cache:
        cache[tenant_id] = list(
            Membership.objects.filter(tenant_id=tenant_id, role=Role.MANAGER, is_active=True).values_list(
                "user_id", flat=True
            )
        )
    return cache[tenant_id]


def sweep_overdue(*, now: datetime.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Mark orders past their deadline overdue, alert their manager (or every manager) once, emit `order.overdue`."""
    now = now or timezone.now()
    total = 0
    while True:
        marked, seen = _sweep_batch(now, batch)
        total += marked
        if seen < batch:
            return total


@transaction.atomic
def _sweep_batch(now, batch) -> tuple[int, int]:
    # Not waiting for the WAL flush is safe here: a batch lost in a crash is found again by the next sweep.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
    candidates = list(
        Order.objects.filter(is_overdue=False, sla_due_at__lte=now)
        .order_by("sla_due_at")
        .select_for_update(skip_locked=True, of=("self",))
        .only("pk", "tenant_id", "number", "status_id", "status_changed_at", "manager_id", "sla_due_at")[:batch]
    )
    if not candidates:
        return 0, 0
    limits = {
        limit.status_id: limit
        for limit in TimeLimit.objects.filter(status_id__in={o.status_id for o in candidates}, is_active=True)
    }
    overdue, days_off = [], {}
    for order in candidates:
        limit = limits.get(order.status_id)
        if limit is not None and limit.working_hours_only and order.tenant_id not in days_off:
            days_off[order.tenant_id] = holidays_of(order.tenant_id)  # once per shop in the batch
        due = deadline(limit, order.status_changed_at, days_off.get(order.tenant_id))
        if due is not None and due <= now:
            overdue.append(order)
        else:  # stale deadline: the status or its limit changed since it was computed
            Order.objects.filter(pk=order.pk).update(sla_due_at=due)
    if not overdue:
        return 0, len(candidates)
    Order.objects.filter(pk__in=[o.pk for o in overdue]).update(is_overdue=True)
    codes = dict(OrderStatus.objects.filter(pk__in={o.status_id for o in overdue}).values_list("pk", "code"))
    managers: dict[int, list[int]] = {}
    alerts = []
    for order in overdue:
        users = [order.manager_id] if order.manager_id else _manager_ids(order.tenant_id, managers)
        status = codes.get(order.status_id, "")
        for user_id in users:
            alerts.append(
                (
                    order.tenant_id,
                    user_id,
                    order.pk,
                    f"Order {order.number} is overdue",
                    f"It has been in '{status}' longer than its time limit.",
                    f"/orders/{order.pk}/",
                    f"overdue:{order.pk}:{int(order.status_changed_at.timestamp())}",
                    now,
                )
            )
    _insert_alerts(alerts)
    events = Event.objects.bulk_create(
        [
            outbox_row(
                tenant_id=order.tenant_id,
                event=OrderOverdue(
                    order_id=order.pk,
                    number=order.number,
                    status=codes.get(order.status_id, ""),
                    due_at=order.sla_due_at.isoformat(),
                ),
            )
            for order in overdue
        ],
        batch_size=1000,
    )
    from ..tasks import dispatch_events

    # One broker message per batch, not per event (1,000 publishes cost ~10 s); the outbox sweep backs it up.
    event_ids = [e.pk for e in events]
    transaction.on_commit(lambda: dispatch_events.delay(event_ids))
    return len(overdue), len(candidates)


def _insert_alerts(rows: list[tuple]) -> None:
    """One INSERT … SELECT unnest(...) for the whole batch; the unique dedupe key keeps it once per breach."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Alert._meta.db_table} "  # noqa: S608 - our own table name, values are parameters
            "(tenant_id, user_id, order_id, title, body, url, dedupe_key, created_at) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::timestamptz[]) ON CONFLICT DO NOTHING",
            [list(column) for column in zip(*rows, strict=True)],
        )

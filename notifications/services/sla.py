"""Time limits: the deadline of each order's current status is a row of this app (`OrderDeadline`); a sweep over
the partial index `orderdeadline_due` finds the deadlines passed, so its cost grows with the overdue orders only.
Orders are read, never written: the order list learns of the mark through `orders.marks` (see apps.py)."""

import datetime
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from oms.db import HotQuery
from oms.event_catalogue import OrderOverdue
from oms.events import memo, record_events
from oms.i18n import languages_of
from oms.models import Membership, Role
from orders.models import Order, OrderStatus

from ..models import Alert, Holiday, OrderDeadline, TimeLimit

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


# Plans are written only while they are about the order's current status period (its `status_changed_at`): a
# computation overtaken by a later status change is dropped, never written over the newer one. A new period
# clears the overdue mark; a new limit for the same period keeps it. Unchanged rows are not written again.
_UPSERT = """
ON CONFLICT (order_id) DO UPDATE
SET started_at = EXCLUDED.started_at, due_at = EXCLUDED.due_at,
    overdue_at = CASE WHEN d.started_at = EXCLUDED.started_at THEN d.overdue_at END
WHERE (d.started_at, d.due_at) IS DISTINCT FROM (EXCLUDED.started_at, EXCLUDED.due_at)
"""
_TABLE = OrderDeadline._meta.db_table
_ORDERS = Order._meta.db_table
_PLAN_SQL = f"""
INSERT INTO {_TABLE} AS d (tenant_id, order_id, started_at, due_at)
SELECT p.tenant_id, p.order_id, p.started_at, p.due_at
FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS p (tenant_id, order_id, started_at, due_at)
JOIN {_ORDERS} o ON o.id = p.order_id AND o.status_changed_at = p.started_at
{_UPSERT}"""  # noqa: S608 - our own table names, values are parameters
_PLAN_STATUS_SQL = f"""
INSERT INTO {_TABLE} AS d (tenant_id, order_id, started_at, due_at)
SELECT o.tenant_id, o.id, o.status_changed_at, o.status_changed_at + %s * interval '1 minute'
FROM {_ORDERS} o WHERE o.tenant_id = %s AND o.status_id = %s
{_UPSERT}"""  # noqa: S608 - our own table names, values are parameters


def _plan(rows: list[tuple]) -> int:
    """Write deadlines: rows of (tenant_id, order_id, started_at, due_at). Returns how many changed."""
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_PLAN_SQL, [list(column) for column in zip(*rows, strict=True)])
        return cursor.rowcount


# Every order.created and order.status_changed asks it (oms.db.HotQuery: built once).
_order_and_plan = HotQuery(
    lambda tenant_id, pk: (
        Order.objects.filter(tenant_id=tenant_id, pk=pk)
        .only("pk", "status_id", "status_changed_at")
        .annotate(planned=Exists(OrderDeadline.objects.filter(tenant_id=tenant_id, order_id=OuterRef("pk"))))
    ),
    prepared=True,  # a row by its key, and whether its deadline row exists
    tenant_id=-7_302_003,
    pk=-7_302_004,
)


def sync_deadline(*, order_id: int, tenant_id: int) -> datetime.datetime | None:
    """Plan the order's deadline from its current status's limit (idempotent: reads the order, not the event)."""
    order = _order_and_plan.first(tenant_id=tenant_id, pk=order_id)
    if order is None:
        return None
    limits = memo(("time-limits", tenant_id), lambda: active_limits(tenant_id))
    due = deadline(limits.get(order.status_id), order.status_changed_at)
    if due is None and not order.planned:
        return None  # no limit, and no earlier plan to clear: an order without limits needs no row
    _plan([(tenant_id, order.pk, order.status_changed_at, due)])
    return due


def active_limits(tenant_id: int) -> dict[int, TimeLimit]:
    """The tenant's active time limits by status id (one dispatch batch asks once: `oms.events.memo`)."""
    return {limit.status_id: limit for limit in TimeLimit.objects.filter(tenant_id=tenant_id, is_active=True)}


def deadline_of(*, order) -> OrderDeadline | None:
    """The order's planned deadline and overdue mark, if it ever had a limit."""
    return OrderDeadline.objects.filter(tenant_id=order.tenant_id, order_id=order.pk).first()


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
        raise DomainError(gettext("That status does not belong to this shop."))
    if not 0 < minutes <= 60 * 24 * 365:
        raise DomainError(gettext("The limit must be between 1 minute and 365 days."))
    if work_ends <= work_starts:
        raise DomainError(gettext("Working hours must end after they start."))
    if working_hours_only:
        try:  # a deadline no order could be given would fail every order entering the status, and the sweep
            add_working_minutes(
                timezone.now(), minutes, starts=work_starts, ends=work_ends, holidays=holidays_of(tenant.pk)
            )
        except ValueError as exc:
            raise DomainError(gettext("The limit is too long for these working hours.")) from exc
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


REPLAN_CHUNK = 2000


def replan_status(*, tenant, status_id: int) -> int:
    """Recompute the deadline of every order in a status (after its limit changed). Returns how many changed."""
    limit = TimeLimit.objects.filter(tenant=tenant, status_id=status_id, is_active=True).first()
    if limit is None:
        planned = OrderDeadline.objects.filter(tenant=tenant, order__status_id=status_id)
        return planned.exclude(due_at=None).update(due_at=None)
    if not limit.working_hours_only:
        with connection.cursor() as cursor:
            cursor.execute(_PLAN_STATUS_SQL, [limit.minutes, tenant.pk, status_id])
            return cursor.rowcount
    changed, days_off, rows = 0, holidays_of(tenant.pk), []
    orders = Order.objects.filter(tenant=tenant, status_id=status_id).values_list("pk", "status_changed_at")
    for pk, started in orders.iterator(chunk_size=REPLAN_CHUNK):
        rows.append((tenant.pk, pk, started, deadline(limit, started, days_off)))
        if len(rows) == REPLAN_CHUNK:
            changed += _plan(rows)
            rows = []
    return changed + _plan(rows)


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
        raise DomainError(gettext("Choose a day between 2000 and 2100."))
    if len(name) > 100:
        raise DomainError(gettext("A holiday name can have at most 100 characters."))
    holiday, created = Holiday.objects.get_or_create(tenant=tenant, day=day, defaults={"name": name})
    if not created:
        raise DomainError(gettext("%(day)s is already a holiday.") % {"day": f"{day:%Y-%m-%d}"})
    try:
        _replan_working_hours_limits(tenant)
    except ValueError as exc:  # a limit the working days left could no longer place (the holiday is rolled back)
        raise DomainError(
            gettext("With this holiday a working-hours time limit no longer fits the working days. Shorten it first.")
        ) from exc
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
    """Mark deadlines passed overdue, alert managers once (grouped per manager and status), emit `order.overdue`."""
    now = now or timezone.now()
    total = 0
    while True:
        marked, seen = _sweep_batch(now, batch)
        total += marked
        if seen < batch:
            return total


@dataclass(slots=True)
class _Due:
    """What the sweep needs of an order whose deadline passed (read with its deadline, no model instances)."""

    pk: int
    tenant_id: int
    number: str
    status_id: int
    status_changed_at: datetime.datetime
    manager_id: int | None


_MARK_SQL = f"UPDATE {_TABLE} SET overdue_at = %s WHERE id = ANY(%s)"  # noqa: S608 - our own table name


@transaction.atomic
def _sweep_batch(now, batch) -> tuple[int, int]:
    # Not waiting for the WAL flush is safe here: a batch lost in a crash is found again by the next sweep.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
    candidates = list(
        OrderDeadline.objects.filter(overdue_at__isnull=True, due_at__lte=now)
        .order_by("due_at")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list(
            "pk",
            "started_at",
            "due_at",
            "order_id",
            "order__tenant_id",
            "order__number",
            "order__status_id",
            "order__status_changed_at",
            "order__manager_id",
        )[:batch]
    )
    if not candidates:
        return 0, 0
    limits = {
        limit.status_id: limit
        for limit in TimeLimit.objects.filter(status_id__in={row[6] for row in candidates}, is_active=True)
    }
    overdue, marked, due_of, stale, days_off = [], [], {}, [], {}
    for pk, started_at, due_at, *fields in candidates:
        order = _Due(*fields)
        limit = limits.get(order.status_id)
        if limit is not None and limit.working_hours_only and order.tenant_id not in days_off:
            days_off[order.tenant_id] = holidays_of(order.tenant_id)  # once per shop in the batch
        # The plan is checked, not trusted: a plan written before a status or limit change is corrected here.
        due = deadline(limit, order.status_changed_at, days_off.get(order.tenant_id))
        if due is not None and due <= now:
            overdue.append(order)
            marked.append(pk)
            due_of[order.pk] = due
            if (started_at, due_at) != (order.status_changed_at, due):  # planned before a change
                OrderDeadline.objects.filter(pk=pk).update(started_at=order.status_changed_at, due_at=due)
        else:  # stale deadline: the status or its limit changed since it was computed
            stale.append((order.tenant_id, order.pk, order.status_changed_at, due))
    _plan(stale)
    if not overdue:
        return 0, len(candidates)
    with connection.cursor() as cursor:  # one array parameter, not a thousand placeholders to parse and plan
        cursor.execute(_MARK_SQL, [now, marked])
    statuses = {s.pk: s for s in OrderStatus.objects.filter(pk__in={o.status_id for o in overdue}).only("code", "name")}
    codes = {pk: status.code for pk, status in statuses.items()}
    alerts = overdue_alerts(overdue, statuses=statuses, now=now)
    _insert_alerts(alerts)
    record_events(
        events=[
            (
                order.tenant_id,
                OrderOverdue(
                    order_id=order.pk,
                    number=order.number,
                    status=codes.get(order.status_id, ""),
                    due_at=due_of[order.pk].isoformat(),
                ),
            )
            for order in overdue
        ]
    )
    return len(overdue), len(candidates)


GROUP_SAMPLE = 5  # order numbers named in a grouped alert


def overdue_alerts(overdue: list, *, statuses: dict, now: datetime.datetime) -> list[tuple]:
    """The alert rows for the orders one sweep batch found overdue, grouped per manager and status: one order
    gets its own alert (linking to it); several get one ("12 orders overdue in Confirmed") linking to the order
    list filtered to that status and to overdue orders (and to the manager, when all of them are theirs).
    An order's manager is alerted; an order without one alerts every manager of the shop."""
    managers: dict[int, list[int]] = {}
    groups: dict[tuple[int, int, int], list] = {}
    for order in overdue:
        users = [order.manager_id] if order.manager_id else _manager_ids(order.tenant_id, managers)
        for user_id in users:
            groups.setdefault((order.tenant_id, user_id, order.status_id), []).append(order)
    alerts = []
    languages = languages_of(user_id for _, user_id, _ in groups)
    for (tenant_id, user_id, status_id), orders in groups.items():
        with translation.override(languages[user_id]):
            alerts.append(_overdue_alert(tenant_id, user_id, orders, statuses.get(status_id), status_id, now))
    return alerts


def _overdue_alert(tenant_id, user_id, orders, status, status_id, now) -> tuple:
    """One alert row, its words in the language active (the recipient's)."""
    name = status.name if status else gettext("its status")
    if len(orders) == 1:
        order = orders[0]
        return (
            tenant_id,
            user_id,
            order.pk,
            gettext("Order %(number)s is overdue") % {"number": order.number},
            gettext("It has been in %(status)s longer than the time limit of that status.") % {"status": name},
            f"/orders/{order.pk}/",
            f"overdue:{order.pk}:{int(order.status_changed_at.timestamp())}",
            now,
        )
    numbers = ", ".join(o.number for o in orders[:GROUP_SAMPLE])
    if len(orders) > GROUP_SAMPLE:
        numbers = gettext("%(numbers)s and %(more)s more") % {"numbers": numbers, "more": len(orders) - GROUP_SAMPLE}
    query = {"status": status.code if status else "", "overdue": "on"}
    if all(o.manager_id == user_id for o in orders):
        query["manager"] = str(user_id)
    return (
        tenant_id,
        user_id,
        None,
        ngettext("%(count)s order overdue in %(status)s", "%(count)s orders overdue in %(status)s", len(orders))
        % {"count": len(orders), "status": name},
        gettext("They have been in %(status)s longer than its time limit: %(numbers)s.")
        % {"status": name, "numbers": numbers},
        "/orders/?" + urlencode(query),
        f"overdue-group:{status_id}:{int(now.timestamp())}:{min(o.pk for o in orders)}",
        now,
    )


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

"""A courier's day: depart, deliver or fail each order in custody, close the route when every order is resolved.
A route not departed by its deadline, or left open at the end of the day, raises an incident for managers."""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from oms.actors import Actor
from oms.db import retry_on_conflict
from oms.event_catalogue import RouteIncident
from oms.events import record_event
from orders.models import Payment
from orders.services import payments

from .. import locks
from ..errors import RouteRuleBroken
from ..models import HolderKind, Incident, IncidentKind, Route, RouteStop, StopResult
from .common import Holder, record_transfer, settings_for, user_label
from .custody import amount_to_collect, confirm_delivery


@transaction.atomic
def depart(*, route: Route, actor: Actor) -> Route:
    route = locks.lock_route(route)
    if route.closed_at is not None:
        raise RouteRuleBroken(gettext("This route is closed."))
    if route.departed_at is not None:
        raise RouteRuleBroken(gettext("Departure is already recorded."))
    if not RouteStop.objects.filter(tenant_id=route.tenant_id, route=route).exists():
        raise RouteRuleBroken(gettext("There is nothing on this route yet."))
    route.departed_at = timezone.now()
    route.save(update_fields=["departed_at"])
    return route


def _open_stop(stop: RouteStop) -> RouteStop:
    if stop.route.closed_at is not None:
        raise RouteRuleBroken(gettext("This route is closed."))
    if stop.route.departed_at is None:
        raise RouteRuleBroken(gettext("Mark the route as departed first."))
    if stop.result:
        raise RouteRuleBroken(
            gettext("This order is already marked %(result)s.") % {"result": stop.get_result_display().lower()}
        )
    return stop


def parse_amount(raw) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        amount = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise RouteRuleBroken(
            gettext("The amount collected must be a number like %(example)s.")
            % {"example": number_format(Decimal("12.50"), 2)}
        ) from exc
    if (
        not amount.is_finite()
        or amount < 0
        or amount > payments.MAX_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise RouteRuleBroken(gettext("The amount collected must be zero or more, with at most two decimals."))
    return amount


def check_not_over_due(amount: Decimal | None, due: Decimal) -> None:
    """More cash than is due is never the order's money: the courier gives the change back (a tip is not the shop's
    to book). Less is recorded, and the route's close reports the gap."""
    if amount is None or amount <= max(due, Decimal("0.00")):
        return
    if due <= 0:
        raise RouteRuleBroken(gettext("Nothing is due on delivery for this order: leave the amount collected empty."))
    raise RouteRuleBroken(
        gettext("%(typed)s is more than the %(due)s due on delivery. Give the change back and enter %(due)s.")
        % {"typed": number_format(amount, 2), "due": number_format(due, 2)}
    )


@retry_on_conflict()
@transaction.atomic
def deliver(*, stop: RouteStop, actor: Actor, amount_collected=None) -> RouteStop:
    """The courier handed the parcel to the customer; cash on delivery needs the amount collected."""
    order = locks.lock_order(stop.order)
    stop = _open_stop(locks.lock_stop(stop))
    due = amount_to_collect(order)
    amount = parse_amount(amount_collected)
    if due > 0 and amount is None:
        raise RouteRuleBroken(
            gettext("Enter the amount collected (%(due)s is due on delivery).") % {"due": number_format(due, 2)}
        )
    check_not_over_due(amount, due)
    confirm_delivery(order=order, actor=actor, note=f"route {stop.route_id}")
    record_transfer(
        order=order,
        to=Holder(kind=HolderKind.CUSTOMER, label=order.customer.name or "Customer"),
        frm=Holder(kind=HolderKind.COURIER, user=stop.route.courier, label=user_label(stop.route.courier)),
        actor=actor,
        note="delivered",
    )
    stop.result, stop.resolved_at, stop.amount_collected = StopResult.DELIVERED, timezone.now(), amount
    stop.amount_due = due
    stop.save(update_fields=["result", "resolved_at", "amount_collected", "amount_due"])
    if amount:  # the cash is the order's payment now (API.md: method `cod`)
        payments.record_payment(order=order, amount=amount, method=Payment.COD, actor=actor, locked=True)
    return stop


@retry_on_conflict()
@transaction.atomic
def fail(*, stop: RouteStop, actor: Actor, reason: str) -> RouteStop:
    """The parcel could not be delivered; it stays in the courier's custody until scanned back in."""
    reason = (reason or "").strip()
    if not reason:
        raise RouteRuleBroken(gettext("Say why the delivery failed."))
    order = locks.lock_order(stop.order)
    stop = _open_stop(locks.lock_stop(stop))
    stop.result, stop.reason, stop.resolved_at = StopResult.FAILED, reason[:255], timezone.now()
    stop.save(update_fields=["result", "reason", "resolved_at"])
    from orders.models import ActivityKind
    from orders.services.activity import log_activity

    log_activity(order=order, kind=ActivityKind.CUSTODY, actor=actor, changes={"delivery_failed": stop.reason})
    return stop


@transaction.atomic
def close(*, route: Route, actor: Actor) -> Route:
    """Close the route; refused while any order on it is neither delivered nor failed."""
    route = locks.lock_route(route)
    if route.closed_at is not None:
        raise RouteRuleBroken(gettext("This route is already closed."))
    if route.departed_at is None:
        raise RouteRuleBroken(gettext("The route never departed; it cannot be closed."))
    open_count = RouteStop.objects.filter(tenant_id=route.tenant_id, route=route, result="").count()
    if open_count:
        raise RouteRuleBroken(
            gettext("%(open_count)s order(s) on this route are not resolved yet.") % {"open_count": open_count}
        )
    route.closed_at = timezone.now()
    route.save(update_fields=["closed_at"])
    expected, collected = cash_of(route)
    if expected != collected:
        raise_incident(
            route=route,
            kind=IncidentKind.CASH_MISMATCH,
            message=f"Cash on delivery: {expected:.2f} due, {collected:.2f} collected ({collected - expected:+.2f}).",
            details={"due": f"{expected:.2f}", "collected": f"{collected:.2f}"},
        )
    return route


def cash_of(route: Route) -> tuple[Decimal, Decimal]:
    """(cash due, cash collected) over the route's delivered stops."""
    totals = RouteStop.objects.filter(tenant_id=route.tenant_id, route=route, result=StopResult.DELIVERED).aggregate(
        due=Sum("amount_due"), collected=Sum("amount_collected")
    )
    return totals["due"] or Decimal("0.00"), totals["collected"] or Decimal("0.00")


# --- incidents ---------------------------------------------------------------------------------------------


def raise_incident(*, route: Route, kind: str, message: str, details: dict | None = None) -> Incident | None:
    """One incident per route and kind (a UNIQUE constraint), so the sweep is safe to run any number of times."""
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                tenant_id=route.tenant_id, route=route, kind=kind, message=message, details=details or {}
            )
            record_event(
                tenant=route.tenant,
                event=RouteIncident(
                    incident_id=incident.pk,
                    incident_kind=kind,
                    route_id=route.pk,
                    courier=route.courier.get_username(),
                    date=route.date.isoformat(),
                    message=message,
                ),
            )
            return incident
    except IntegrityError:
        return None


def find_incidents(*, tenant_id: int, now: datetime.datetime | None = None, limit: int = 500) -> list[Incident]:
    """Routes past their departure deadline without departure, and routes still open after the end of the day."""
    now = now or timezone.now()
    created = []
    missed = (
        Route.objects.filter(tenant_id=tenant_id, closed_at__isnull=True, departed_at__isnull=True, deadline__lte=now)
        .exclude(incidents__kind=IncidentKind.MISSED_DEPARTURE)
        .filter(stops__isnull=False)
        .select_related("tenant", "courier")
        .distinct()
        .order_by("deadline")[:limit]
    )
    for route in missed:
        message = (
            f"{user_label(route.courier)} has not departed on the route of {route.date:%d %b} "
            f"(deadline {timezone.localtime(route.deadline):%H:%M})."
        )
        deadline = f"{timezone.localtime(route.deadline):%H:%M}"
        incident = raise_incident(
            route=route, kind=IncidentKind.MISSED_DEPARTURE, message=message, details={"deadline": deadline}
        )
        if incident:
            created.append(incident)
    today = timezone.localdate(now)
    candidates = (
        Route.objects.filter(tenant_id=tenant_id, closed_at__isnull=True, date__lte=today)
        .filter(stops__isnull=False)
        .exclude(incidents__kind=IncidentKind.LEFT_OPEN)
        .select_related("tenant", "courier")
        .distinct()
        .order_by("date")[:limit]
    )
    for route in candidates:
        end = timezone.make_aware(datetime.datetime.combine(route.date, settings_for(route.tenant).end_of_day))
        if now < end:
            continue
        unresolved = RouteStop.objects.filter(route=route).filter(Q(result="")).count()
        message = f"{user_label(route.courier)}'s route of {route.date:%d %b} is still open ({unresolved} unresolved)."
        incident = raise_incident(
            route=route, kind=IncidentKind.LEFT_OPEN, message=message, details={"unresolved": unresolved}
        )
        if incident:
            created.append(incident)
    return created


@transaction.atomic
def resolve_incident(*, incident: Incident, actor: Actor) -> Incident:
    incident = locks.lock_incident(incident)
    if incident.resolved_at is None:
        incident.resolved_at = timezone.now()
        incident.save(update_fields=["resolved_at"])
    return incident

"""Where order and customer rows are locked. A family is always locked root first, then by id."""

from oms.db import HotQuery, HotRead

from .models import Customer, Order, OrderLine, StatusTransition

# Order rows are locked with a query on the order table alone: with a join (e.g. to its status), PostgreSQL re-checks a
# row that changed while it waited against the joined row it read before, so an order whose status moved meanwhile
# would not be found at all. The status is read after the lock.


def lock_order(order: Order) -> Order:
    """The order's row, locked and read afresh. The shop, status and customer the caller had already read are kept
    when the fresh row still points at them, so no service reads them a second time."""
    locked = Order.objects.select_for_update().get(pk=order.pk, tenant_id=order.tenant_id)
    for field in _KEPT:
        if field.is_cached(order) and getattr(order, field.attname) == getattr(locked, field.attname):
            field.set_cached_value(locked, field.get_cached_value(order))
    return locked


_KEPT = [Order._meta.get_field(name) for name in ("tenant", "status", "customer")]


def lock_order_by_id(*, tenant_id: int, pk: int, **annotations) -> Order:
    """The order row locked, its status and customer (and `annotations`) read in the same statement: for a request
    that knows only the id, one read of the order instead of a read and a lock. With the join, PostgreSQL drops a
    row whose status or customer changed while it waited for the lock (see above); then the row is locked alone and
    they are read after. Order.DoesNotExist when the shop has no such order."""

    def rows():  # built only when needed: building a queryset costs more than the prepared read
        return Order.objects.select_for_update(of=("self",)).annotate(**annotations).filter(pk=pk, tenant_id=tenant_id)

    joined = _locked_with_status(tenant_id=tenant_id, pk=pk) if not annotations else list(_with_status(rows()))
    return joined[0] if joined else rows().get()


def locked_with_status_read(*, tenant_id: int, pk: int) -> HotRead:
    """`lock_order_by_id`'s read, to go first among reads that need the lock (`oms.db.read_together`). It finds
    nothing when the order is not the shop's, or when its status or customer changed while it waited: then call
    `lock_order_by_id`."""
    return _locked_with_status.with_values(tenant_id=tenant_id, pk=pk)


def _with_status(orders):
    return orders.select_related("status", "customer")


# The API's reserve and status change lock an order by id on every call.
_locked_with_status = HotQuery(
    lambda tenant_id, pk: _with_status(
        Order.objects.select_for_update(of=("self",)).filter(pk=pk, tenant_id=tenant_id)
    ),
    prepared=True,  # one row by its key, and its status and customer by theirs: planning is most of its cost
    tenant_id=-7_301_001,
    pk=-7_301_002,
)


def lock_family_root_and_order(order: Order) -> tuple[Order, Order]:
    ids = sorted({order.root_id or order.pk, order.pk})
    locked = {o.pk: o for o in Order.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return locked[order.root_id or order.pk], locked[order.pk]


def lock_customers(*customers: Customer) -> dict[int, Customer]:
    """Fresh, locked rows of these customers by id, locked in id order so two merges cannot deadlock."""
    return {
        c.pk: c
        for c in Customer.objects.select_for_update(of=("self",))
        .filter(tenant_id=customers[0].tenant_id, pk__in={c.pk for c in customers})
        .order_by("pk")
    }


def lock_line(line: OrderLine, *, order: Order) -> OrderLine | None:
    """A line of an order whose row is already locked (order first, then its line); None when it is no longer the
    order's (removed or split off since the caller read it)."""
    return OrderLine.objects.select_for_update().select_related("product").filter(pk=line.pk, order=order).first()


def lock_transition(*, tenant, channel: str, from_status, to_status) -> StatusTransition | None:
    return (
        StatusTransition.objects.select_for_update()
        .filter(tenant=tenant, channel=channel, from_status=from_status, to_status=to_status)
        .first()
    )

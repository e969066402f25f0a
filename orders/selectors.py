"""Tenant-scoped reads of orders and customers, with the joins each page needs."""

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Count, Max, Min, Prefetch, Q, Subquery, Sum

from inventory.models import Product, with_products
from oms.db import HotQuery, HotRead, read_together

from . import marks
from .models import ContactKind, Customer, CustomerContact, Group, Order, OrderActivity, OrderLine, OrderStatus
from .services.customers import normalize_phone

REVENUE_EXCLUDED = (Group.CANCEL,)


def order_detail_queryset(*, tenant):
    return (
        Order.objects.filter(tenant=tenant)
        .select_related("status", "customer", "manager")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.with_products().order_by("pk")))
    )


# The order page and every reservation: prepared, and the products read by key, not joined (`attach_products` says
# why): the keys the order's lines hold, found first.
_lines_of_order = HotQuery(
    lambda order_id: OrderLine.objects.filter(order_id=order_id).order_by("pk"), prepared=True, order_id=-7_301_003
)
_products_of_order = HotQuery(
    lambda order_id: Product.objects.filter(
        pk__any_of=ArraySubquery(OrderLine.objects.filter(order_id=order_id).values("product_id"))
    ),
    prepared=True,
    order_id=-7_301_008,
)


def lines_with_products_reads(*, order_id: int) -> tuple[HotRead, HotRead]:
    """The reads of `lines_with_products`, to go with others in one round trip (`oms.db.read_together`): the lines,
    then their products, for `with_products`."""
    return _lines_of_order.with_values(order_id=order_id), _products_of_order.with_values(order_id=order_id)


def lines_with_products(*, order_id: int) -> list[OrderLine]:
    """The order's lines in the order they were added, each with its product: one round trip."""
    return with_products(*read_together(*lines_with_products_reads(order_id=order_id)))


def channels_in_use(*, tenant, limit: int = 50) -> list[str]:
    """The channels the shop's orders came through. A skip scan over the (tenant, channel, external_id) index:
    one index probe per distinct channel, so it stays instant at a million orders."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE seen(channel) AS (
                (SELECT channel FROM orders_order WHERE tenant_id = %s ORDER BY channel LIMIT 1)
                UNION ALL
                SELECT (SELECT o.channel FROM orders_order o WHERE o.tenant_id = %s AND o.channel > seen.channel
                        ORDER BY o.channel LIMIT 1)
                FROM seen WHERE seen.channel IS NOT NULL
            )
            SELECT channel FROM seen WHERE channel IS NOT NULL LIMIT %s
            """,
            [tenant.pk, tenant.pk, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def orders_for_list(*, tenant, filters: dict | None = None):
    """The order list with its filters; each row needs status, customer and manager only."""
    filters = filters or {}
    queryset = Order.objects.filter(tenant=tenant).select_related("status", "customer", "manager")
    if filters.get("status"):
        status_id = OrderStatus.objects.filter(tenant=tenant, code=filters["status"]).values_list("pk", flat=True)
        queryset = queryset.filter(status_id__in=list(status_id))
    if filters.get("group"):
        queryset = queryset.filter(group=filters["group"])
    if filters.get("channel"):
        queryset = queryset.filter(channel=filters["channel"])
    if filters.get("manager"):
        queryset = queryset.filter(manager_id=filters["manager"])
    if filters.get("payment_status"):
        queryset = queryset.filter(payment_status=filters["payment_status"])
    if filters.get("date_from"):
        queryset = queryset.filter(created_at__date__gte=filters["date_from"])
    if filters.get("date_to"):
        queryset = queryset.filter(created_at__date__lte=filters["date_to"])
    queryset = marks.filter_marked(queryset, filters)  # e.g. "overdue", kept by notifications
    if filters.get("root_id"):
        queryset = queryset.filter(root_id=filters["root_id"])
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gte=filters["updated_since"])
    query = (filters.get("q") or "").strip()
    if query:
        queryset = queryset.filter(search_condition(tenant, query))
    return queryset


NAME_MATCH_LIMIT = 1000


PHONE_SEARCH_MIN_DIGITS = 5


def searchable_digits(query: str) -> str:
    """The digits of a query that looks like (part of) a phone number, if there are enough of them to search by."""
    if any(ch.isalpha() for ch in query) or "@" in query:
        return ""
    digits = normalize_phone("".join(ch for ch in query if ch in "0123456789"))  # 8 911... is stored as 7 911...
    return digits if len(digits) >= PHONE_SEARCH_MIN_DIGITS else ""


def phones_containing(tenant, digits: str):
    """Phones with this run of digits anywhere (`555-12-34`, `9115551234`, `+7 911 555-12-34` all find
    +7 911 555-12-34); the trigram index on the normalised digits answers it."""
    return CustomerContact.objects.filter(tenant=tenant, kind=ContactKind.PHONE, normalized__contains=digits)


def search_condition(tenant, query: str) -> Q:
    """Number, family, phone, e-mail or name — each resolved on an index first, so a search never walks
    every order of the tenant (customer names through a trigram index)."""
    condition = Q(number=query)
    if query.replace("-", "").isdecimal():
        root = Order.objects.filter(tenant=tenant, number=query.split("-")[0], parent__isnull=True).values("pk")
        # `= (one row)`, not `IN (rows)`: PostgreSQL then expects few matches and ORs the three indexes, where for
        # IN it guessed half the shop and walked every order newest first (30-40 ms for a customer of two orders).
        condition |= Q(root_id=Subquery(root[:1]))
    customer_ids = set()
    if phone_digits := searchable_digits(query):
        customer_ids |= set(
            phones_containing(tenant, phone_digits).values_list("customer_id", flat=True)[:NAME_MATCH_LIMIT]
        )
    if "@" in query:
        customer_ids |= set(
            CustomerContact.objects.filter(
                tenant=tenant, kind=ContactKind.EMAIL, normalized=query.strip().lower()
            ).values_list("customer_id", flat=True)[:NAME_MATCH_LIMIT]
        )
    if len(query) >= 2 and not query.replace("-", "").replace("+", "").replace(" ", "").isdecimal():
        named = list(
            Customer.objects.filter(tenant=tenant, name__icontains=query).values_list("pk", flat=True)[
                : NAME_MATCH_LIMIT + 1
            ]
        )
        if len(named) > NAME_MATCH_LIMIT:  # a common word: newest orders of those customers come quickly anyway
            condition |= Q(customer__name__icontains=query)
        else:
            customer_ids |= set(named)
    if customer_ids:
        condition |= Q(customer_id__in=sorted(customer_ids))
    return condition


def statuses(*, tenant, active_only=False):
    queryset = OrderStatus.objects.filter(tenant=tenant)
    return queryset.filter(is_active=True) if active_only else queryset


def timeline(*, order):
    return (
        OrderActivity.objects.filter(tenant_id=order.tenant_id, order=order)
        .select_related("actor")
        .order_by("at", "pk")
    )


def family(*, order) -> list[Order]:
    """Every order sharing the root, oldest first. A root that has had no child is alone: its counter of children
    (bumped in the transaction that adds one) says so without a query."""
    if order.root_id in (None, order.pk) and order.children_count == 0:
        return [order]
    return list(
        Order.objects.filter(tenant_id=order.tenant_id, root_id=order.root_id or order.pk)
        .select_related("status")
        .order_by("pk")
    )


def customers(*, tenant, search: str = ""):
    queryset = Customer.objects.filter(tenant=tenant, merged_into__isnull=True)
    if search:
        condition = Q(name__icontains=search) | Q(email__iexact=search.lower())
        if phone_digits := searchable_digits(search):
            condition |= Q(pk__in=phones_containing(tenant, phone_digits).values("customer_id"))
        queryset = queryset.filter(condition).distinct()
    return queryset.annotate(order_count=Count("orders", distinct=True)).order_by("name", "pk")


def customer_stats(*, customer) -> dict:
    """Orders count families once; cancelled orders bring no revenue."""
    orders = Order.objects.filter(tenant_id=customer.tenant_id, customer=customer)
    counted = orders.exclude(group__in=REVENUE_EXCLUDED)
    stats = counted.aggregate(
        total_spent=Sum("total"),
        first=Min("created_at"),
        last=Max("created_at"),
        purchases=Count("root_id", distinct=True),
    )
    stats["order_count"] = orders.count()
    stats["lifetime_value"] = stats["total_spent"] or 0
    return stats


# A line's `reserved` is what orders/sql/line_reserved.sql keeps: its reservations plus the units shipped with it and
# not returned (never fewer than none). The database keeps it so; this finds a line where something else wrote it.
_RESERVED_DRIFT_SQL = """
SELECT o.number, p.sku, l.reserved, COALESCE(held.units, 0), GREATEST(COALESCE(out.units, 0), 0)
FROM orders_orderline l
JOIN orders_order o ON o.id = l.order_id
JOIN inventory_product p ON p.id = l.product_id
LEFT JOIN (
    SELECT line_id, SUM(quantity) AS units FROM inventory_reservation WHERE tenant_id = %(tenant)s GROUP BY line_id
) held ON held.line_id = l.id
LEFT JOIN (
    SELECT order_line_id, -SUM(quantity) AS units
    FROM inventory_stockmove
    WHERE tenant_id = %(tenant)s AND order_line_id IS NOT NULL AND kind IN ('shipment', 'return')
    GROUP BY order_line_id
) out ON out.order_line_id = l.id
WHERE l.tenant_id = %(tenant)s AND l.reserved <> COALESCE(held.units, 0) + GREATEST(COALESCE(out.units, 0), 0)
ORDER BY o.number, p.sku
"""

_ORPHAN_RESERVATIONS_SQL = """
SELECT r.line_id, SUM(r.quantity)
FROM inventory_reservation r
WHERE r.tenant_id = %(tenant)s AND NOT EXISTS (SELECT 1 FROM orders_orderline l WHERE l.id = r.line_id)
GROUP BY r.line_id
ORDER BY r.line_id
"""


def reserved_drift(tenant) -> list[str]:
    """Order lines whose `reserved` differs from their reservations plus what shipped with them and did not return,
    and reservations held for no line (inventory's check_stock runs this, see apps.py)."""
    params = {"tenant": getattr(tenant, "pk", tenant)}
    with connection.cursor() as cursor:
        cursor.execute(_RESERVED_DRIFT_SQL, params)
        drift = [
            f"order {number} {sku}: line reserved {reserved}, reservations {held} + shipped {out}"
            for number, sku, reserved, held, out in cursor.fetchall()
        ]
        cursor.execute(_ORPHAN_RESERVATIONS_SQL, params)
        drift += [f"line #{line_id} (no such order line): {units} unit(s) reserved" for line_id, units in cursor]
    return drift

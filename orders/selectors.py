"""Tenant-scoped reads of orders and customers, with the joins each page needs."""

from django.db.models import Count, Max, Min, Prefetch, Q, Sum

from .models import Customer, Group, Order, OrderActivity, OrderLine, OrderStatus
from .services.customers import normalize_phone

REVENUE_EXCLUDED = (Group.CANCEL,)


def order_detail_queryset(*, tenant):
    return (
        Order.objects.filter(tenant=tenant)
        .select_related("status", "customer", "manager")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("pk")))
    )


def orders_for_list(*, tenant, filters: dict | None = None):
    """The order list with its filters; each row needs status, customer and manager only."""
    filters = filters or {}
    queryset = Order.objects.filter(tenant=tenant).select_related("status", "customer", "manager")
    if filters.get("status"):
        queryset = queryset.filter(status__code=filters["status"])
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
    if filters.get("overdue"):
        queryset = queryset.filter(is_overdue=True)
    if filters.get("root_id"):
        queryset = queryset.filter(root_id=filters["root_id"])
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gte=filters["updated_since"])
    query = (filters.get("q") or "").strip()
    if query:
        queryset = queryset.filter(search_condition(query))
    return queryset


def search_condition(query: str) -> Q:
    condition = Q(number=query) | Q(number__startswith=f"{query}-") | Q(customer__name__icontains=query)
    if "@" in query:
        condition |= Q(customer__email__iexact=query.strip().lower())
    digits = normalize_phone(query)
    if len(digits) >= 5:
        condition |= Q(customer__contacts__normalized=digits)
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


def family(*, order):
    """Every order sharing the root, oldest first."""
    return (
        Order.objects.filter(tenant_id=order.tenant_id, root_id=order.root_id or order.pk)
        .select_related("status")
        .order_by("pk")
    )


def customers(*, tenant, search: str = ""):
    queryset = Customer.objects.filter(tenant=tenant, merged_into__isnull=True)
    if search:
        digits = normalize_phone(search)
        condition = Q(name__icontains=search) | Q(email__iexact=search.lower())
        if len(digits) >= 5:
            condition |= Q(contacts__normalized=digits)
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

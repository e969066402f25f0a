"""What splitting earns: the owner's report on split-off child orders (one SQL query per figure set).

How it counts (the page says the same):
- a split-off is a child order created by "split" (its timeline begins with "split from parent"); copies are not;
- it counts in the range by its own creation time; *recovered revenue* is the total of the split-offs that reached
  the complete group, less what was refunded for goods sent back — sales that would have been lost had the
  missing lines been deleted;
- *time to ship* runs from the split-off's creation to its hand-over to the carrier or courier;
- lifetime value compares customers with at least one split purchase against customers without one **in the same
  first-purchase month** (customers whose first purchase is in the range), each cohort weighted by its number of
  split customers, so an older cohort's longer history does not pass for the effect of splitting. A customer's
  value is the revenue of all their purchases (order families, revenue groups as set in Analytics settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .reports import ReportFilters, _fetch, revenue_groups

SPLIT_FROM = "split_from"  # orders.ActivityKind.SPLIT_FROM, the first line of a split-off's timeline

CHILDREN_SQL = """
WITH children AS (
    SELECT o.total, o."group", o.created_at, o.handed_over_at,
           -- goods sent back for their money were no sale recovered (as in reports.PURCHASES)
           (SELECT COALESCE(SUM(p.amount), 0)
            FROM shipments_customerreturn cr JOIN orders_payment p ON p.id = cr.refund_id AND p.tenant_id = cr.tenant_id
            WHERE cr.tenant_id = o.tenant_id AND cr.order_id = o.id) AS refunded
    FROM orders_order o
    WHERE o.tenant_id = %(tenant)s AND o.parent_id IS NOT NULL
      AND (%(start)s::timestamptz IS NULL OR o.created_at >= %(start)s)
      AND (%(end)s::timestamptz IS NULL OR o.created_at < %(end)s)
      AND (%(channel)s = '' OR o.channel = %(channel)s)
      AND EXISTS (SELECT 1 FROM orders_orderactivity a
                  WHERE a.tenant_id = o.tenant_id AND a.order_id = o.id AND a.kind = %(split_from)s)
)
SELECT count(*),
       count(*) FILTER (WHERE "group" = 'complete'),
       count(*) FILTER (WHERE "group" = 'cancel'),
       COALESCE(SUM(total - refunded) FILTER (WHERE "group" = 'complete'), 0),
       COALESCE(SUM(total) FILTER (WHERE "group" NOT IN ('complete', 'cancel')), 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM handed_over_at - created_at))
           FILTER (WHERE handed_over_at IS NOT NULL),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM handed_over_at - created_at))
           FILTER (WHERE handed_over_at IS NOT NULL),
       count(*) FILTER (WHERE handed_over_at IS NOT NULL)
FROM children
"""

COHORTS_SQL = """
WITH split_roots AS (
    SELECT DISTINCT o.root_id
    FROM orders_order o
    WHERE o.tenant_id = %(tenant)s AND o.parent_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM orders_orderactivity a
                  WHERE a.tenant_id = o.tenant_id AND a.order_id = o.id AND a.kind = %(split_from)s)
),
customers AS (
    SELECT p.customer_id, MIN(p.first_month) AS cohort, SUM(p.revenue) AS value, MAX(p.seq) AS purchases,
           bool_or(s.root_id IS NOT NULL) AS split
    FROM analytics_purchase p
    LEFT JOIN split_roots s ON s.root_id = p.root_id
    WHERE p.tenant_id = %(tenant)s
    GROUP BY p.customer_id
    HAVING (%(start)s::timestamptz IS NULL OR MIN(p.first_at) >= %(start)s)
       AND (%(end)s::timestamptz IS NULL OR MIN(p.first_at) < %(end)s)
       AND (%(channel)s = '' OR bool_or(p.channel = %(channel)s AND p.seq = 1))
)
SELECT cohort, split, count(*), AVG(value), AVG((purchases > 1)::int)
FROM customers
GROUP BY cohort, split
ORDER BY cohort, split
"""


@dataclass
class CohortComparison:
    cohort: date
    split_customers: int
    split_value: Decimal
    split_repeat: float  # share 0..1 of customers who bought again
    other_customers: int
    other_value: Decimal | None
    other_repeat: float | None


@dataclass
class SplitReport:
    children: int
    completed: int
    cancelled: int
    recovered: Decimal
    waiting_value: Decimal
    median_seconds_to_ship: float | None
    p90_seconds_to_ship: float | None
    shipped: int
    cohorts: list[CohortComparison]

    @property
    def still_open(self) -> int:
        return self.children - self.completed - self.cancelled

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.children if self.children else None

    @property
    def compared(self) -> list[CohortComparison]:
        return [c for c in self.cohorts if c.split_customers and c.other_customers]

    @property
    def uncompared_customers(self) -> int:
        return sum(c.split_customers for c in self.cohorts if c.split_customers and not c.other_customers)

    def _weighted(self, attribute: str):
        rows = self.compared
        weight = sum(c.split_customers for c in rows)
        if not weight:
            return None
        return sum(Decimal(c.split_customers) * Decimal(getattr(c, attribute)) for c in rows) / weight

    @property
    def split_value(self) -> Decimal | None:
        value = self._weighted("split_value")
        return None if value is None else value.quantize(Decimal("0.01"))

    @property
    def comparable_value(self) -> Decimal | None:
        value = self._weighted("other_value")
        return None if value is None else value.quantize(Decimal("0.01"))

    @property
    def split_repeat(self) -> float | None:
        value = self._weighted("split_repeat")
        return None if value is None else float(value)

    @property
    def comparable_repeat(self) -> float | None:
        value = self._weighted("other_repeat")
        return None if value is None else float(value)


def split_report(*, tenant, filters: ReportFilters) -> SplitReport:
    params = {**filters.params(tenant, revenue_groups(tenant)), "split_from": SPLIT_FROM}
    (children, completed, cancelled, recovered, waiting, median, p90, shipped) = _fetch(CHILDREN_SQL, params)[0]
    by_cohort: dict[date, dict[bool, tuple]] = {}
    for cohort, split, customers, value, repeat in _fetch(COHORTS_SQL, params):
        by_cohort.setdefault(cohort, {})[split] = (customers, Decimal(value).quantize(Decimal("0.01")), float(repeat))
    cohorts = []
    for cohort, groups in sorted(by_cohort.items()):
        if True not in groups:
            continue
        split_n, split_value, split_repeat = groups[True]
        other_n, other_value, other_repeat = groups.get(False, (0, None, None))
        cohorts.append(CohortComparison(cohort, split_n, split_value, split_repeat, other_n, other_value, other_repeat))
    return SplitReport(
        children=children,
        completed=completed,
        cancelled=cancelled,
        recovered=Decimal(recovered),
        waiting_value=Decimal(waiting),
        median_seconds_to_ship=median,
        p90_seconds_to_ship=p90,
        shipped=shipped,
        cohorts=cohorts,
    )

"""Property-based checks: the stock ledger invariant, and the one-statement reservation against a plain model."""

import itertools
from collections import defaultdict

import pytest
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import services as stock
from inventory.errors import InsufficientStock
from inventory.models import Reservation, StockLevel, StockMove
from inventory.selectors import ledger_drift

from .helpers import lines_for, product, reserved_sum, warehouse

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_codes = itertools.count()


def new_warehouse(tenant, **fields):
    """Examples share the test's transaction and tenant, so each makes its own warehouses and products."""
    return warehouse(tenant, f"W{next(_codes)}", **fields)


def assert_stock_invariants(tenant, products):
    held = Reservation.objects.filter(product=OuterRef("product"), warehouse=OuterRef("warehouse"))
    moved = StockMove.objects.filter(product=OuterRef("product"), warehouse=OuterRef("warehouse"))
    levels = StockLevel.objects.filter(product__in=products).annotate(
        held=Coalesce(Subquery(held.values("product").annotate(s=Sum("quantity")).values("s")), 0),
        moved=Coalesce(Subquery(moved.values("product").annotate(s=Sum("quantity")).values("s")), 0),
    )
    for lv in levels:
        assert lv.on_hand == lv.moved
        assert 0 <= lv.reserved <= lv.on_hand
        assert lv.reserved == lv.held  # the whole tenant: earlier examples must still add up too


# --- the ledger invariant under any sequence of operations ---------------------------------------------------

WAREHOUSES, PRODUCTS, LINES = 2, 2, 3
where_what = st.tuples(st.integers(0, WAREHOUSES - 1), st.integers(0, PRODUCTS - 1))
operation = st.one_of(
    st.tuples(st.just("receive"), where_what, st.integers(1, 20)),
    st.tuples(st.just("reserve"), st.integers(0, LINES - 1), st.integers(1, 6)),
    st.tuples(st.just("ship"), st.integers(0, LINES - 1), st.none()),
    st.tuples(st.just("release"), st.integers(0, LINES - 1), st.none()),
    st.tuples(st.just("return"), where_what, st.integers(1, 5)),
    st.tuples(st.just("write_off"), where_what, st.integers(1, 12)),
    st.tuples(st.just("adjust"), where_what, st.integers(0, 25)),
)


@PROPERTY_SETTINGS
@given(operations=st.lists(operation, min_size=1, max_size=20))
def test_on_hand_always_equals_the_sum_of_the_ledger(tenant, operations):
    warehouses = [new_warehouse(tenant, priority=i) for i in range(WAREHOUSES)]
    products = [product(tenant) for _ in range(PRODUCTS)]
    # Lines big enough for every reservation the operations can make: a line's `reserved` (which the database keeps
    # from them) never exceeds its quantity, and orders never asks for more than a line misses.
    lines = lines_for(tenant, [products[i % PRODUCTS] for i in range(LINES)], 20 * 6)
    on_hand = defaultdict(int)  # the model: (warehouse index, product index) -> units

    def units(w, p):
        lv = StockLevel.objects.filter(warehouse=warehouses[w], product=products[p]).first()
        return (lv.on_hand, lv.reserved) if lv else (0, 0)

    for kind, target, quantity in operations:
        if kind == "receive":
            stock.receive(tenant=tenant, warehouse=warehouses[target[0]], lines=[(products[target[1]], quantity)])
            on_hand[target] += quantity
        elif kind == "reserve":
            line = lines[target]
            with transaction.atomic():
                stock.reserve(tenant=tenant, demands=[stock.Demand(line.pk, line.product_id, quantity)])
        elif kind == "ship":
            held = {
                (warehouses.index(r.warehouse), products.index(r.product)): r.quantity
                for r in Reservation.objects.filter(line_id=lines[target].pk).select_related("warehouse", "product")
            }
            with transaction.atomic():
                stock.consume(tenant=tenant, line_ids=[lines[target].pk])
            for key, shipped in held.items():
                on_hand[key] -= shipped
        elif kind == "release":
            with transaction.atomic():
                stock.release(tenant=tenant, line_ids=[lines[target].pk])
        elif kind == "return":
            with transaction.atomic():
                stock.restock_return(
                    tenant=tenant, warehouse=warehouses[target[0]], product=products[target[1]], quantity=quantity
                )
            on_hand[target] += quantity
        elif kind in ("write_off", "adjust"):
            have, reserved = units(*target)
            where, what = warehouses[target[0]], products[target[1]]
            if kind == "write_off":
                refused = quantity > have - reserved
                change = lambda: stock.write_off(  # noqa: E731
                    tenant=tenant, warehouse=where, product=what, quantity=quantity, reason="broken"
                )
                after = have - quantity
            else:
                refused = quantity < reserved
                change = lambda: stock.adjust(  # noqa: E731
                    tenant=tenant, warehouse=where, product=what, counted=quantity, reason="stock-take"
                )
                after = quantity
            if refused:
                with pytest.raises(InsufficientStock):
                    change()
            else:
                change()
                on_hand[target] = after
        assert_stock_invariants(tenant, products)

    for w, p in itertools.product(range(WAREHOUSES), range(PRODUCTS)):
        assert units(w, p)[0] == on_hand[(w, p)]
    assert ledger_drift(tenant=tenant) == []  # the whole tenant: earlier examples must still add up too


# --- the one-statement reservation equals a plain greedy allocation -------------------------------------------


def greedy(levels, demands, warehouse_ids):
    """The rule in words: demands in order; each takes from its product's warehouses in order of preference."""
    preference = warehouse_ids or []
    usable = [lv for lv in levels if lv["active"] and (warehouse_ids is None or lv["warehouse"] in warehouse_ids)]
    available = {lv["id"]: lv["available"] for lv in usable}
    taken = defaultdict(int)
    for line_id, product_id, quantity in demands:
        candidates = sorted(
            (lv for lv in usable if lv["product"] == product_id),
            key=lambda lv: (
                preference.index(lv["warehouse"]) if lv["warehouse"] in preference else len(preference),
                lv["priority"],
                lv["warehouse"],
            ),
        )
        for lv in candidates:
            take = min(quantity, available[lv["id"]])
            if take > 0:
                available[lv["id"]] -= take
                taken[line_id] += take
                quantity -= take
    return dict(taken), available


level_spec = st.tuples(st.integers(0, 6), st.integers(0, 6))  # on hand, reserved (clipped to on hand)


@PROPERTY_SETTINGS
@given(
    warehouse_specs=st.lists(st.tuples(st.sampled_from([10, 20, 20]), st.booleans()), min_size=1, max_size=3),
    stock_specs=st.lists(level_spec, min_size=6, max_size=6),
    demand_specs=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 8)), min_size=1, max_size=5),
    preference=st.one_of(
        st.none(), st.permutations(range(3)).flatmap(lambda p: st.integers(0, 3).map(lambda n: p[:n]))
    ),
)
def test_reservation_matches_the_greedy_rule(tenant, warehouse_specs, stock_specs, demand_specs, preference):
    warehouses = [new_warehouse(tenant, priority=priority, is_active=active) for priority, active in warehouse_specs]
    products = [product(tenant) for _ in range(2)]
    levels = []
    for (w, p), (on_hand, reserved) in zip(
        itertools.product(range(len(warehouses)), range(2)), stock_specs, strict=False
    ):
        if not on_hand:
            continue
        stock.receive(tenant=tenant, warehouse=warehouses[w], lines=[(products[p], on_hand)])
        lv = StockLevel.objects.get(warehouse=warehouses[w], product=products[p])
        StockLevel.objects.filter(pk=lv.pk).update(reserved=min(reserved, on_hand))  # held by orders not in this test
        levels.append(
            {
                "id": lv.pk,
                "product": products[p].pk,
                "warehouse": warehouses[w].pk,
                "priority": warehouses[w].priority,
                "active": warehouses[w].is_active,
                "available": on_hand - min(reserved, on_hand),
            }
        )
    lines = lines_for(tenant, [products[i % 2] for i in range(4)], 8)
    demands = [(lines[i].pk, lines[i].product_id, quantity) for i, quantity in demand_specs]
    warehouse_ids = None if preference is None else [warehouses[i].pk for i in preference if i < len(warehouses)]

    expected, left = greedy(levels, demands, warehouse_ids)
    before = {lv.pk: lv.reserved for lv in StockLevel.objects.filter(product__in=products)}
    with transaction.atomic():
        result = stock.reserve(tenant=tenant, demands=[stock.Demand(*d) for d in demands], warehouse_ids=warehouse_ids)

    assert result == expected
    for lv in StockLevel.objects.filter(product__in=products):
        assert lv.reserved - before[lv.pk] == reserved_sum(product=lv.product, warehouse=lv.warehouse)
        if lv.pk in left:
            assert lv.on_hand - lv.reserved == left[lv.pk]
    assert reserved_sum(product__in=products) == sum(expected.values())

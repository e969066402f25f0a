"""oms.db's hot statements: HotQuery (a query built by the ORM once, run again with new values) gives what the ORM
would give; RowsInsert writes what bulk_create would."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from inventory.models import Product
from oms import rls
from oms.db import AnyOf, HotQuery, RowsInsert, as_prefetched
from orders.models import Order, OrderActivity, OrderLine, Payment
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db

Product._meta.get_field("sku").register_lookup(AnyOf)  # as orders.services.intake does; registering twice is harmless

lines_of = HotQuery(
    lambda order_id: OrderLine.objects.filter(order_id=order_id).select_related("product").order_by("pk"),
    order_id=-1,
)
by_skus = HotQuery(lambda skus: Product.objects.filter(sku__any_of=skus).order_by("sku"), skus=["sample"])


def test_rows_come_back_as_the_orm_makes_them_with_what_select_related_brings(tenant):
    a, b = stocked_product(tenant, sku="A"), stocked_product(tenant, sku="B")
    first, second = place_order(tenant, [(a, 1), (b, 2)]), place_order(tenant, [(b, 3)])
    with CaptureQueriesContext(connection) as queries:
        lines = lines_of(order_id=first.pk)
        skus = [line.product.sku for line in lines]  # select_related: no query of its own
    assert len(queries) == 1
    assert skus == ["A", "B"]
    expected = list(OrderLine.objects.filter(order=first).order_by("pk").values())
    assert [
        {f.attname: getattr(line, f.attname) for f in OrderLine._meta.concrete_fields} for line in lines
    ] == expected
    assert [(ln.product.sku, ln.quantity) for ln in lines_of(order_id=second.pk)] == [("B", 3)]  # new values, same SQL
    assert lines_of(order_id=10**12) == []


def test_a_list_goes_in_as_one_array_whatever_its_length(tenant):
    for sku in ("A", "B", "C"):
        stocked_product(tenant, sku=sku, on_hand=0)
    with CaptureQueriesContext(connection) as queries:
        assert [p.sku for p in by_skus(skus=["C", "A"])] == ["A", "C"]
        assert [p.sku for p in by_skus(skus=["B"])] == ["B"]
        assert by_skus(skus=[]) == []
    assert len({q["sql"].split(" = ANY")[0] for q in queries}) == 1


def test_rows_of_another_shop_stay_out_of_sight(tenant, other_tenant):
    product = stocked_product(tenant, sku="SHARED")
    order = place_order(tenant, [(product, 1)])
    with rls.tenant_context(other_tenant.pk):
        stocked_product(other_tenant, sku="SHARED")
        assert [p.tenant_id for p in by_skus(skus=["SHARED"])] == [other_tenant.pk]
        assert lines_of(order_id=order.pk) == []
    assert [p.tenant_id for p in by_skus(skus=["SHARED"])] == [tenant.pk]


def test_annotations_and_constants_keep_their_places(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 2)])
    doubled = HotQuery(
        lambda pk, group: Order.objects.filter(pk=pk, group=group, children_count__gte=0).annotate(
            twice=F("total") * 2
        ),
        pk=-5,
        group="sample",
    )
    (found,) = doubled(pk=order.pk, group=order.group)
    assert found.twice == order.total * 2
    assert doubled(pk=order.pk, group="complete") == []


def test_a_locking_query_runs_in_a_transaction(tenant):
    locked = HotQuery(lambda pk: Order.objects.select_for_update().filter(pk=pk), pk=-6)
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with transaction.atomic():
        (row,) = locked(pk=order.pk)
    assert row.pk == order.pk


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused(tenant):
    locked = HotQuery(lambda pk: Order.objects.select_for_update().filter(pk=pk), pk=-7)
    with pytest.raises(transaction.TransactionManagementError):
        locked(pk=1)


def test_a_value_the_statement_does_not_take_as_given_is_refused_at_once(tenant):
    changed = HotQuery(lambda sku: Product.objects.filter(sku__contains=sku), sku="sample")  # becomes %sample%
    with pytest.raises(ValueError, match="does not take"):
        changed(sku="A")


payments = RowsInsert(Payment)
entries = RowsInsert(OrderActivity)


def test_rows_go_in_with_every_value_as_given_and_get_their_ids_in_order(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    at = datetime.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)
    written = payments(
        [
            Payment(tenant=tenant, order=order, method="card", amount=Decimal("12.34"), created_at=at),
            Payment(tenant=tenant, order=order, kind="refund", method="cash", amount=Decimal("0.01"), created_at=at),
        ]
    )
    assert [p.pk for p in written] == sorted(p.pk for p in written) and all(not p._state.adding for p in written)
    stored = {p.pk: p for p in Payment.objects.filter(order=order)}
    assert [(stored[p.pk].kind, stored[p.pk].amount, stored[p.pk].created_at) for p in written] == [
        ("payment", Decimal("12.34"), at),
        ("refund", Decimal("0.01"), at),  # microseconds kept
    ]
    assert stored[written[0].pk].created_by_id is None
    (entry,) = entries(
        [OrderActivity(tenant=tenant, order=order, kind="note", changes={"text": 'ü \\ "q"', "n": [1, None]})]
    )
    assert OrderActivity.objects.get(pk=entry.pk).changes == {"text": 'ü \\ "q"', "n": [1, None]}
    assert entries([]) == []


def test_a_row_for_another_shop_is_refused(tenant, other_tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        entries([OrderActivity(tenant=other_tenant, order=order, kind="note")])


def test_a_value_json_cannot_carry_is_refused():
    with pytest.raises(TypeError, match="bytes"):
        entries([OrderActivity(tenant_id=1, order_id=1, kind="note", changes={"raw": b"x"})])


def test_saved_rows_get_their_history_and_given_ids_are_kept(tenant):
    from orders.models import Customer, CustomerContact

    customers = RowsInsert(Customer, saved=True)
    (made,) = customers([Customer(tenant=tenant, name="Ann", phone="+7 900")])
    assert [(h.history_type, h.name) for h in made.history.all()] == [("+", "Ann")]
    given = Customer(id=made.pk + 1000, tenant=tenant, name="Bob")
    assert customers([given])[0].pk == made.pk + 1000 and Customer.objects.get(pk=given.pk).name == "Bob"
    with pytest.raises(ValueError, match="every object"):
        customers([Customer(tenant=tenant, name="C"), Customer(id=1, tenant=tenant, name="D")])

    contacts = RowsInsert(CustomerContact, ignore_conflicts=True)
    row = {"tenant": tenant, "customer": made, "kind": "phone", "value": "+7 900", "normalized": "7900"}
    contacts([CustomerContact(**row)])
    contacts([CustomerContact(**row), CustomerContact(**{**row, "kind": "email", "normalized": "a@b.c"})])
    assert sorted(CustomerContact.objects.filter(customer=made).values_list("kind", flat=True)) == ["email", "phone"]


def test_an_array_goes_in_as_the_orm_sends_it(tenant):
    from orders.models import Customer

    long_tag = "T" * 50
    by_orm = Customer.objects.create(tenant=tenant, name="ORM", tags=[long_tag])
    (by_rows,) = RowsInsert(Customer)([Customer(tenant=tenant, name="Rows", tags=[long_tag, "VIP"])])
    stored = {c.name: c.tags for c in Customer.objects.filter(pk__in=[by_orm.pk, by_rows.pk])}
    assert stored == {"ORM": ["T" * 40], "Rows": ["T" * 40, "VIP"]}


def test_rows_read_apart_serve_the_relation_as_prefetched_rows_do(tenant):
    order = place_order(tenant, [(stocked_product(tenant), 1), (stocked_product(tenant), 2)])
    rls.bind(tenant.pk)
    fresh = Order.objects.get(pk=order.pk)
    lines = list(OrderLine.objects.filter(order=fresh).order_by("pk"))
    as_prefetched(fresh, "lines", lines)
    with CaptureQueriesContext(connection) as captured:
        assert list(fresh.lines.all()) == lines
        assert [line.quantity for line in fresh.lines.all()] == [1, 2]
        assert all(line.order is fresh for line in fresh.lines.all())
    assert captured.captured_queries == []

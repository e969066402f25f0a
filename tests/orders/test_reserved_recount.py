"""The upgrade to database-kept `reserved` recounts lines written before it (orders/migrations/0012)."""

import importlib

from django.db import connection

from orders.models import OrderLine
from orders.services.reservations import reserve_order
from tests.orders.helpers import SYSTEM, place_order, stocked_product

recount_migration = importlib.import_module("orders.migrations.0012_reserved_by_the_new_rule")


class _SchemaEditor:
    connection = connection


def test_lines_written_before_the_rule_are_recounted_from_their_reservations(tenant, other_tenant):
    product = stocked_product(tenant, on_hand=10)
    order = place_order(tenant, [(product, 3), (product, 2)])
    reserve_order(order=order, actor=SYSTEM)
    first, second = order.lines.order_by("pk")
    # What an earlier version could leave behind: a figure the reservations do not back.
    OrderLine.objects.filter(pk=first.pk).update(reserved=1)
    OrderLine.objects.filter(pk=second.pk).update(reserved=0)

    recount_migration.recount(None, _SchemaEditor())

    assert sorted(order.lines.values_list("reserved", flat=True)) == [2, 3]

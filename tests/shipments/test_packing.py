import threading

import pytest
from django.db import connection

from inventory.models import Product
from oms import rls
from shipments.errors import ScanRefused
from shipments.models import PackScan
from shipments.services import packing
from tests.factories import ProductFactory
from tests.orders.helpers import place_order, stocked_product

from .helpers import PACKER_ACTOR, order_to_pack, pack

pytestmark = pytest.mark.django_db


def scanned(order):
    return {pl.line.product.sku: pl.scanned for pl in packing.pack_lines(order)}


def test_each_scan_counts_one_unit_by_barcode_or_sku(tenant):
    order = order_to_pack(tenant)
    first, second = [line.product for line in order.lines.order_by("pk")]
    packing.scan_item(order=order, code=first.barcode, actor=PACKER_ACTOR)
    packing.scan_item(order=order, code=f"  {first.sku} ", actor=PACKER_ACTOR)
    assert scanned(order) == {first.sku: 2, second.sku: 0}


def test_wrong_item_is_refused_and_changes_nothing(tenant):
    order = order_to_pack(tenant)
    stranger = ProductFactory(tenant=tenant)
    with pytest.raises(ScanRefused, match="Wrong item"):
        packing.scan_item(order=order, code=stranger.barcode, actor=PACKER_ACTOR)
    assert not PackScan.objects.filter(order=order).exists()


def test_item_of_another_order_is_refused(tenant):
    order = order_to_pack(tenant)
    other = order_to_pack(tenant)
    foreign_product = other.lines.first().product
    with pytest.raises(ScanRefused, match="not in order"):
        packing.scan_item(order=order, code=foreign_product.barcode, actor=PACKER_ACTOR)
    assert not PackScan.objects.filter(order=order).exists()


def test_unknown_code_and_other_tenants_product_are_refused(tenant, other_tenant):
    order = order_to_pack(tenant)
    foreign = ProductFactory(tenant=other_tenant)
    for code in ["NOPE-123", foreign.barcode, ""]:
        with pytest.raises(ScanRefused):
            packing.scan_item(order=order, code=code, actor=PACKER_ACTOR)
    assert not PackScan.objects.filter(order=order).exists()


def test_one_unit_too_many_is_refused(tenant):
    product = stocked_product(tenant, on_hand=10)
    order = order_to_pack(tenant, lines=[(product, 2), (stocked_product(tenant), 1)])
    packing.scan_item(order=order, code=product.barcode, actor=PACKER_ACTOR)
    packing.scan_item(order=order, code=product.barcode, actor=PACKER_ACTOR)
    with pytest.raises(ScanRefused, match="One too many"):
        packing.scan_item(order=order, code=product.barcode, actor=PACKER_ACTOR)
    assert scanned(order)[product.sku] == 2


def test_undo_takes_back_the_last_scan_only(tenant):
    order = order_to_pack(tenant)
    first, second = [line.product for line in order.lines.order_by("pk")]
    packing.scan_item(order=order, code=first.barcode, actor=PACKER_ACTOR)
    packing.scan_item(order=order, code=second.barcode, actor=PACKER_ACTOR)
    undone = packing.undo_last_scan(order=order, actor=PACKER_ACTOR)
    assert undone.product == second
    assert scanned(order) == {first.sku: 1, second.sku: 0}
    packing.undo_last_scan(order=order, actor=PACKER_ACTOR)
    with pytest.raises(ScanRefused, match="no scan to undo"):
        packing.undo_last_scan(order=order, actor=PACKER_ACTOR)


def test_last_unit_verifies_packing_and_moves_to_packed(tenant):
    order = order_to_pack(tenant)
    order = pack(order)
    order.refresh_from_db()
    assert order.packing_verified_at is not None
    assert order.status.code == "packed" and order.group == "assembly"


def test_packed_status_falls_back_to_next_assembly_status(tenant):
    from orders.models import OrderStatus

    OrderStatus.objects.filter(tenant=tenant, code="packed").update(is_active=False)
    OrderStatus.objects.create(tenant=tenant, code="boxed", name="Boxed", group="assembly", position=99)
    order = pack(order_to_pack(tenant))
    assert order.status.code == "boxed"


def test_a_packed_order_takes_no_more_scans_or_undo(tenant):
    order = pack(order_to_pack(tenant))
    product = order.lines.first().product
    with pytest.raises(ScanRefused, match="already packed"):
        packing.scan_item(order=order, code=product.barcode, actor=PACKER_ACTOR)
    with pytest.raises(ScanRefused):
        packing.undo_last_scan(order=order, actor=PACKER_ACTOR)


def test_only_orders_in_assembly_can_be_packed(tenant):
    product = stocked_product(tenant)
    order = place_order(tenant, [(product, 1)])
    with pytest.raises(ScanRefused, match="not in assembly"):
        packing.scan_item(order=order, code=product.barcode, actor=PACKER_ACTOR)
    assert not PackScan.objects.filter(order=order).exists()


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_never_over_scan(tenant):
    product = stocked_product(tenant, on_hand=10)
    order = order_to_pack(tenant, lines=[(product, 1), (stocked_product(tenant), 1)])
    barrier = threading.Barrier(2)
    outcomes = []

    def scan():
        try:
            rls.bind(tenant.pk)
            barrier.wait()
            packing.scan_item(order=order, code=product.barcode, actor=PACKER_ACTOR)
            outcomes.append("ok")
        except ScanRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert PackScan.objects.filter(order=order, undone_at__isnull=True).count() == 1
    assert Product.objects.filter(pk=product.pk).exists()


def test_an_order_whose_lines_changed_after_packing_must_be_packed_again(tenant):
    from orders.services import editing
    from orders.services.reservations import reserve_order
    from orders.services.statuses import change_status
    from shipments.errors import HandoverRefused
    from shipments.services import custody
    from tests.orders.helpers import SYSTEM, move

    from .helpers import courier_of

    order = pack(order_to_pack(tenant))
    assert order.packing_verified_at is not None
    # The shop's matrix lets a packed order go back for a change: the customer adds an item.
    order = change_status(order=order, to_code="confirmed", actor=SYSTEM, skip_matrix=True)
    extra = stocked_product(tenant, on_hand=5)
    editing.add_line(order=order, product=extra, quantity=1, price=None, actor=SYSTEM)
    order = move(reserve_order(order=order, actor=SYSTEM), "assembling")
    with pytest.raises(HandoverRefused, match="not been packed"):
        custody.hand_over(order=order, actor=PACKER_ACTOR, courier=courier_of(tenant))
    result = packing.scan_item(order=order, code=extra.barcode, actor=PACKER_ACTOR)
    assert result.complete and result.order.packing_verified_at is not None


def test_another_products_barcode_never_counts_for_a_line_whose_sku_reads_the_same(tenant):
    in_order = stocked_product(tenant, on_hand=5, sku="4006381333931")  # a SKU that is an old EAN
    stranger = ProductFactory(tenant=tenant, barcode="4006381333931")  # the EAN on another product now
    order = order_to_pack(tenant, lines=[(in_order, 1)])
    with pytest.raises(ScanRefused, match=f"Wrong item: {stranger.sku}"):
        packing.scan_item(order=order, code="4006381333931", actor=PACKER_ACTOR)
    assert not PackScan.objects.filter(order=order).exists()
    assert packing.scan_item(order=order, code=in_order.barcode, actor=PACKER_ACTOR).complete

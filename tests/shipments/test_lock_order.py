"""Locks follow the house order: an order row before its shipment row (real PostgreSQL, one connection each)."""

import threading
import time

import pytest
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from oms import rls
from orders.locks import lock_order
from orders.models import Order
from orders.purposes import StatusPurpose
from shipments.carriers.base import RemoteEvent
from shipments.models import Carrier, Shipment, ShipmentState
from shipments.services import custody, returns, tracking
from tests.concurrency import assert_levels_locked_in_product_order

from .helpers import PACKER_ACTOR, packed_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_tracking_poll_waits_for_the_order_before_it_locks_the_shipment(tenant):
    carrier = Carrier.objects.create(tenant=tenant, kind="sandbox", name="Sandbox", poll_interval_seconds=60)
    order = packed_order(tenant)
    shipment = custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier).shipment
    order_locked, release, poll_done = threading.Event(), threading.Event(), threading.Event()
    failures = []

    def hold_the_order():  # e.g. a manager's change of the order, in progress
        try:
            rls.bind(tenant.pk)
            with transaction.atomic():
                lock_order(order)
                order_locked.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    def poll():
        try:
            rls.bind(tenant.pk)
            tracking.apply_events(shipment_id=shipment.pk, events=[])
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            poll_done.set()
            connections.close_all()

    holder, poller = threading.Thread(target=hold_the_order), threading.Thread(target=poll)
    holder.start()
    assert order_locked.wait(timeout=30)
    poller.start()
    try:
        assert not poll_done.wait(timeout=1), "the poll did not wait for the order row"
        with transaction.atomic():  # the waiting poll holds no lock on the shipment yet
            Shipment.objects.select_for_update(nowait=True).get(pk=shipment.pk)
    except DatabaseError:
        pytest.fail("the poll locked the shipment before the order")
    finally:
        release.set()
        holder.join(timeout=30)
        poller.join(timeout=30)
    assert failures == [] and poll_done.is_set()


ROUNDS = 12


def test_a_poll_and_a_return_scan_of_the_same_order_never_deadlock(tenant, caplog):
    """Both lock the order row, then the shipment row: run together many times, neither PostgreSQL's deadlock
    detector nor a retry is ever needed, and the order ends received back."""
    carrier = Carrier.objects.create(tenant=tenant, kind="sandbox", name="Sandbox", poll_interval_seconds=60)
    failures = []
    for round_number in range(ROUNDS):
        order = packed_order(tenant)
        shipment = custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier).shipment
        start = threading.Barrier(2)
        news = [RemoteEvent(external_id=f"r{round_number}", state=ShipmentState.RETURNING, at=timezone.now())]

        def poll(shipment_id=shipment.pk, news=news, start=start):
            try:
                rls.bind(tenant.pk)
                start.wait(timeout=30)
                tracking.apply_events(shipment_id=shipment_id, events=news)
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                connections.close_all()

        def scan_return(order_id=order.pk, start=start):
            try:
                rls.bind(tenant.pk)
                start.wait(timeout=30)
                returns.receive_return(order=Order.objects.get(pk=order_id), actor=PACKER_ACTOR)
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=poll), threading.Thread(target=scan_return)]
        [thread.start() for thread in threads]
        [thread.join(timeout=60) for thread in threads]
        rls.bind(tenant.pk)
        order.refresh_from_db()
        assert order.status.purpose == StatusPurpose.RETURNED
    assert [repr(f) for f in failures] == []
    assert "Retrying" not in caplog.text and "deadlock" not in caplog.text.lower()


def test_a_handover_retried_after_a_deadlock_books_the_carrier_once(tenant, settings):
    """The carrier is called before the transaction; a retry of that transaction (a deadlock, here forced by another
    connection that takes the order row out of the house order) must not book a second shipment with it."""
    from .fake_carrier import FakeCarrier

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the fake carrier listens on 127.0.0.1
    order, other = packed_order(tenant), packed_order(tenant)
    inserted, failures = threading.Event(), []
    with FakeCarrier() as fake:
        carrier = Carrier.objects.create(
            tenant=tenant, kind="http", name="FastParcel", base_url=fake.url, token=fake.token
        )

        def against_the_house_order():
            try:
                rls.bind(tenant.pk)
                with transaction.atomic():
                    # the tracking number the carrier is about to give: the handover's insert waits for this row
                    Shipment.objects.create(
                        tenant=tenant, order=other, carrier=carrier, tracking_number=f"FC00001-{order.number}"
                    )
                    inserted.set()
                    time.sleep(0.3)  # the handover now holds the order row and waits for the row above
                    lock_order(order)  # the cycle: PostgreSQL aborts the handover, which waited first
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=against_the_house_order)
        thread.start()
        assert inserted.wait(timeout=30)
        shipment = custody.hand_over(order=order, actor=PACKER_ACTOR, carrier=carrier).shipment
        thread.join(timeout=30)
    assert failures == []
    assert fake.created == 1 and shipment.tracking_number == f"FC00001-{order.number}"


def delivered_naming_the_later_product_first(tenant):
    from shipments.services import routes
    from tests.orders.helpers import SYSTEM, stocked_product

    from .helpers import handed_to_courier

    earlier, later = stocked_product(tenant, on_hand=5), stocked_product(tenant, on_hand=5)
    assert earlier.pk < later.pk
    order, stop, _ = handed_to_courier(tenant, lines=[(later, 1), (earlier, 1)])
    routes.depart(route=stop.route, actor=SYSTEM)
    routes.deliver(stop=stop, actor=SYSTEM, amount_collected="20.00")  # cash on delivery
    order.refresh_from_db()
    return order, earlier, later


def test_a_customer_return_locks_stock_levels_in_product_order(tenant):
    from tests.orders.helpers import SYSTEM

    order, earlier, later = delivered_naming_the_later_product_first(tenant)
    lines = {line.product_id: line.pk for line in order.lines.all()}
    customer_return = returns.announce_return(
        order=order, quantities={lines[later.pk]: 1, lines[earlier.pk]: 1}, reason="x", actor=SYSTEM
    )
    assert_levels_locked_in_product_order(
        tenant,
        earlier,
        later,
        lambda: returns.receive_customer_return(customer_return=customer_return, actor=PACKER_ACTOR),
    )


def test_a_delivered_parcel_received_back_locks_stock_levels_in_product_order(tenant):
    order, earlier, later = delivered_naming_the_later_product_first(tenant)
    assert_levels_locked_in_product_order(
        tenant, earlier, later, lambda: returns.receive_return(order=Order.objects.get(pk=order.pk), actor=PACKER_ACTOR)
    )


def test_two_scans_of_one_parcel_for_a_carrier_at_once_book_it_once(tenant, settings):
    """A scanner's double Enter: both requests would call the carrier before either takes the order's lock. One books
    it; the other is told the handover is under way, and no second booking is left at the carrier."""
    from shipments.errors import HandoverRefused
    from tests.concurrency import run_together

    from .fake_carrier import FakeCarrier

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the fake carrier listens on 127.0.0.1
    order = packed_order(tenant)
    outcomes = []
    with FakeCarrier() as fake:
        fake.booking_seconds = 0.5
        carrier = Carrier.objects.create(
            tenant=tenant, kind="http", name="FastParcel", base_url=fake.url, token=fake.token
        )

        def scan(_):
            try:
                custody.hand_over(order=Order.objects.get(pk=order.pk), actor=PACKER_ACTOR, carrier=carrier)
                outcomes.append("handed over")
            except HandoverRefused as exc:
                outcomes.append(exc.message)

        run_together(scan, [1, 2], tenant=tenant)
    assert fake.created == 1 and Shipment.objects.filter(order=order).count() == 1
    assert outcomes.count("handed over") == 1
    assert [o for o in outcomes if o != "handed over"] == [
        f"Order {order.number} is being handed over to a carrier right now."
    ]

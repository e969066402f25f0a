"""Locks follow the house order: an order row before its shipment row (real PostgreSQL, one connection each)."""

import threading

import pytest
from django.db import DatabaseError, connections, transaction

from oms import rls
from orders.locks import lock_order
from shipments.models import Carrier, Shipment
from shipments.services import custody, tracking

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

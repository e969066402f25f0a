"""Work released at once in threads, each with its own database connection, as requests and tasks run."""

import threading

import pytest
from django.db import DatabaseError, connections, transaction

from oms import rls


def run_together(work, items, *, tenant):
    """Run `work(item)` in one thread per item, all released at once; re-raise the first failure. Each thread's
    connection is bound to the tenant, as a request's or a task's is."""
    barrier = threading.Barrier(len(items))
    failures = []

    def worker(item):
        try:
            rls.bind(tenant.pk)
            barrier.wait(timeout=30)
            work(item)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a reservation hung"
    if failures:
        raise failures[0]


def assert_levels_locked_in_product_order(tenant, earlier, later, action):
    """Stock levels are locked by (product, warehouse) everywhere: `action` must not hold the later product's level
    while it waits for the earlier one (a receipt or a reservation taking them in product order would deadlock)."""
    from inventory.models import StockLevel

    level_locked, release, done = threading.Event(), threading.Event(), threading.Event()
    failures = []

    def hold_the_earlier_level():  # e.g. a receipt of both products, in progress
        try:
            rls.bind(tenant.pk)
            with transaction.atomic():
                StockLevel.objects.select_for_update().get(product=earlier)
                level_locked.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    def act():
        try:
            rls.bind(tenant.pk)
            action()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            done.set()
            connections.close_all()

    holder, actor = threading.Thread(target=hold_the_earlier_level), threading.Thread(target=act)
    holder.start()
    assert level_locked.wait(timeout=30)
    actor.start()
    try:
        assert not done.wait(timeout=1), "it did not wait for the earlier product's level"
        with transaction.atomic():  # the waiting service holds no lock on the later product's level yet
            StockLevel.objects.select_for_update(nowait=True).get(product=later)
    except DatabaseError:
        pytest.fail("the later product's level was locked before the earlier one")
    finally:
        release.set()
        holder.join(timeout=30)
        actor.join(timeout=30)
    assert failures == [] and done.is_set()

"""Work released at once in threads, each with its own database connection, as requests and tasks run."""

import threading

from django.db import connections

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

"""Locks have one home: each app's locks.py names the helper for each kind of row, and services call it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["oms", "inventory", "orders", "shipments", "notifications", "analytics"]
# A sweep claims rows with SKIP LOCKED inside its own query; that is a claim, not a row lock to order.
SWEEP_CLAIMS = {"notifications/services/sla.py", "oms/events.py"}
# HotQuery runs a query a locks module built, and keeps the lock it asked for.
RUNS_LOCKS_BUILT_ELSEWHERE = {"oms/db.py"}


def test_rows_are_locked_only_in_locks_modules():
    locking = [
        path.relative_to(ROOT).as_posix()
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "locks.py" and "select_for_update" in path.read_text()
    ]
    assert sorted(set(locking) - SWEEP_CLAIMS - RUNS_LOCKS_BUILT_ELSEWHERE) == []


def test_the_order_row_has_one_lock_helper():
    from orders import locks as order_locks
    from shipments import locks as shipment_locks

    assert shipment_locks.lock_order is order_locks.lock_order

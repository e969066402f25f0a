"""Database helpers shared by every app."""

import functools
import logging
import random
import time

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def retry_on_conflict(attempts: int = 5):
    """Run a transactional function again when PostgreSQL aborts it for a serialization failure or deadlock.

    Only safe around a function that opens its own outermost transaction.
    """

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except OperationalError as exc:
                    if _sqlstate(exc) not in RETRYABLE_SQLSTATES or attempt == attempts or connection.in_atomic_block:
                        raise
                    logger.warning("Retrying %s after %s (attempt %s)", func.__name__, _sqlstate(exc), attempt)
                    time.sleep(random.uniform(0.005, 0.03) * attempt)  # noqa: S311 - jitter, not security
            raise AssertionError("unreachable")

        return wrapper

    return decorator

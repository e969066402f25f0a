"""Each pytest-xdist worker process gets its own Redis database: the tests count queued tasks and clear flags."""

from urllib.parse import urlsplit, urlunsplit

MARK = "OMS_TEST_REDIS_OF_WORKER"


def own_redis(environ) -> None:
    """Move REDIS_URL in `environ` to the worker's own database, once: the Celery workers and commands a test starts
    inherit the moved URL with the worker's name, and must keep it, not move it again."""
    worker = environ.get("PYTEST_XDIST_WORKER")
    if not worker or environ.get(MARK) == worker:
        return
    url = urlsplit(environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    first, index = int(url.path.strip("/") or 0), int(worker.removeprefix("gw"))
    number = first + index if first + index < 16 else first - index  # Redis has databases 0-15
    environ["REDIS_URL"] = urlunsplit(url._replace(path=f"/{number}"))
    environ[MARK] = worker

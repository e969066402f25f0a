"""Test settings: the real settings plus a probe app whose subscriber the outbox tests observe."""

import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

# Under pytest-xdist each worker process gets its own Redis database (its own database on PostgreSQL comes from
# pytest-django): the tests count queued tasks and clear flags, and the workers they start read the same variable.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    _url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    _first, _index = int(_url.path.strip("/") or 0), int(worker.removeprefix("gw"))
    _number = _first + _index if _first + _index < 16 else _first - _index  # Redis has databases 0-15
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_number}"))

from oms.settings import *  # noqa: E402, F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.outbox_probe"]  # noqa: F405

# The suite runs as production does: every connection logs in as this role (neither owner nor superuser), with
# row-level security forced; migrations run as the owner of the test database (see tests/conftest.py).
DATABASE_APP_ROLE = "oms_app_test"

# Files the tests make (exports) go to a directory of this run, not the checkout's var/.
STORAGES = {
    **STORAGES,  # noqa: F405
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="oms-test-private-"), "base_url": None},
    },
}

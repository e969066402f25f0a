"""Test settings: the real settings plus a probe app whose subscriber the outbox tests observe."""

import os
import tempfile

from tests.support.xdist import own_redis

own_redis(os.environ)  # before the settings read REDIS_URL

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

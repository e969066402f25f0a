"""Test settings: the real settings plus a probe app whose subscriber the outbox tests observe."""

from oms.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.outbox_probe"]  # noqa: F405

# The suite runs as production does: every connection logs in as this role (neither owner nor superuser), with
# row-level security forced; migrations run as the owner of the test database (see tests/conftest.py).
DATABASE_APP_ROLE = "oms_app_test"

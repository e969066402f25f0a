"""Test settings: the real settings plus a probe app whose subscriber the outbox tests observe."""

from oms.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.outbox_probe"]  # noqa: F405

"""Web and worker processes keep what they loaded at start out of the garbage collector's full walks: with Django and
every module in them, one such walk stalled the request that triggered it by ~70 ms."""

import gc
from pathlib import Path

import pytest

from oms import celery, gunicorn_conf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize(
    "started", [lambda: gunicorn_conf.post_worker_init(worker=None), lambda: celery.freeze_loaded_objects(sender=None)]
)
def test_a_started_process_freezes_what_it_loaded(unfrozen, started):
    assert gc.get_freeze_count() == 0
    started()
    assert gc.get_freeze_count() > 1000


def test_the_image_runs_gunicorn_with_these_settings():
    dockerfile = (ROOT / ".docker" / "Dockerfile").read_text()
    assert '"--config", "python:oms.gunicorn_conf"' in dockerfile

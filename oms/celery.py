import gc
import os

from celery import Celery
from celery.signals import task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def check_database_connections(sender=None, **kwargs):
    """Before each task, as Django does before each request: a connection that broke or outlived CONN_MAX_AGE is
    closed (the next query opens a fresh one); a healthy one is reused (see CELERY_DB_REUSE_MAX)."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    from oms import rls

    close_old_connections()
    rls.bind(None)  # a task works for no shop until it says which (a worker thread runs many shops' tasks)


@worker_process_init.connect
def freeze_loaded_objects(**kwargs):
    """What the worker process loaded lives as long as it does: kept out of the collector's full walks (as the web
    processes do, oms/gunicorn_conf.py)."""
    gc.freeze()

"""gunicorn's settings for the web processes (`gunicorn --config python:oms.gunicorn_conf`, as the Dockerfile runs it)."""

import gc


def post_worker_init(worker):
    # Django and every module it loaded live as long as the process. Moved out of the collector's sight, they are no
    # longer walked by each full collection, which otherwise stalls one request in a few hundred by ~70 ms.
    gc.freeze()

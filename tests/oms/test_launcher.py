"""The launcher of `make up` / `make test`."""

from oms import launcher


def test_beat_keeps_its_schedule_in_a_folder_that_exists_with_external_services(tmp_path, monkeypatch):
    """With DATABASE_URL and REDIS_URL set, no embedded service creates var/: beat died on its schedule file and
    took the whole app down with it."""
    monkeypatch.setattr(launcher, "VAR", tmp_path / "var")
    started = {}
    monkeypatch.setattr(launcher, "spawn", lambda command, env: started.setdefault(command[5], command))
    launcher.spawn_workers({})
    schedule = started["beat"][started["beat"].index("--schedule") + 1]
    assert (tmp_path / "var").is_dir() and schedule == str(tmp_path / "var" / "celerybeat-schedule")


def test_links_sent_out_follow_the_port_the_app_serves_on():
    from oms.launcher import site_env

    assert site_env({}, 8123)["SITE_URL"] == "http://127.0.0.1:8123"
    assert site_env({"SITE_URL": "https://shop.example"}, 8123)["SITE_URL"] == "https://shop.example"


def test_the_suite_runs_on_every_core_unless_told_otherwise():
    assert launcher.parallel(["tests/oms", "-x"]) == ["-n", "auto", "--dist", "worksteal"]
    for chosen in (["-n", "1"], ["-n4"], ["--numprocesses=2"], ["-p", "no:xdist"], ["-pno:xdist"]):
        assert launcher.parallel(["tests/oms", *chosen]) == [], chosen


def test_each_test_worker_moves_to_its_own_redis_database_once():
    from tests.support.xdist import own_redis

    first = {"PYTEST_XDIST_WORKER": "gw1", "REDIS_URL": "redis://127.0.0.1:6379/1"}
    own_redis(first)
    assert first["REDIS_URL"] == "redis://127.0.0.1:6379/2"
    child = dict(first)  # a Celery worker the test starts inherits the environment and imports the settings again
    own_redis(child)
    assert child["REDIS_URL"] == first["REDIS_URL"]
    last = {"PYTEST_XDIST_WORKER": "gw1", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    own_redis(last)
    assert last["REDIS_URL"] == "redis://127.0.0.1:6379/14"
    alone = {"REDIS_URL": "redis://127.0.0.1:6379/1"}
    own_redis(alone)
    assert alone == {"REDIS_URL": "redis://127.0.0.1:6379/1"}

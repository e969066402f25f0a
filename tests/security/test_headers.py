import pytest

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_policy_built_once_is_the_librarys_and_a_views_own_policy_still_wins(client, rf, settings):
    from csp.constants import NONCE, SELF
    from csp.decorators import csp_update
    from csp.utils import build_policy
    from django.http import HttpResponse

    from oms.security_headers import CSPMiddleware

    expected = sorted(build_policy().split("; "))
    assert sorted(client.get("/accounts/login/")["Content-Security-Policy"].split("; ")) == expected
    assert sorted(client.get("/api/v1/orders")["Content-Security-Policy"].split("; ")) == expected  # a 401 too

    widened = CSPMiddleware(csp_update({"img-src": "https://images.example"})(lambda request: HttpResponse()))
    assert "https://images.example" in widened(rf.get("/"))["Content-Security-Policy"]

    def with_nonce(request):
        return HttpResponse(str(request.csp_nonce))

    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**directives, "script-src": [SELF, NONCE]}}
    response = CSPMiddleware(with_nonce)(rf.get("/"))
    assert f"script-src 'self' 'nonce-{response.content.decode()}'" in response["Content-Security-Policy"]


def test_htmx_is_configured_without_eval_or_script_tags(client):
    page = client.get("/accounts/login/").content.decode()
    assert '"allowEval": false' in page and '"allowScriptTags": false' in page and '"selfRequestsOnly": true' in page
    assert "<script>" not in page and "style=" not in page


def test_every_response_has_a_request_id(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="abcdef123456")
    assert response["X-Request-ID"] == "abcdef123456"
    assert len(client.get("/accounts/login/", HTTP_X_REQUEST_ID="<bad>")["X-Request-ID"]) == 32


def test_healthz_reports_database_redis_and_worker(client):
    from oms.observability import beat_heartbeat

    beat_heartbeat()
    report = client.get("/healthz").json()
    assert report["database"] == "ok" and report["redis"] == "ok" and report["worker"]["status"] == "ok"


def test_json_log_lines_carry_request_id_and_tenant():
    import json
    import logging

    from oms.observability import JsonFormatter, RequestContextFilter, request_id_var, tenant_var

    record = logging.LogRecord("oms", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    request_id_var.set("req-1")
    tenant_var.set("shop-a")
    RequestContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line == {**line, "message": "boom x", "request_id": "req-1", "tenant": "shop-a", "level": "ERROR"}


def test_production_settings_pass_the_deploy_check():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 60 + "-Production-Like-Key"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process only
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""An API call skips the pages' middleware (oms/api_shortcut.py); a page takes the whole chain."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from oms import api_shortcut, rls, tenant_binding
from oms.models import Role
from oms.services import create_api_token
from tests.conftest import login
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def statements(client, path) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [q["sql"] for q in captured.captured_queries]


def test_a_persons_session_sent_along_costs_an_api_call_nothing_and_sets_no_cookie(tenant):
    _, raw = create_api_token(tenant=tenant, name="shortcut")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    token_only = Client(**bearer)
    token_only.get("/api/v1/orders")  # the token's use is noted once: both calls below read alike
    alone, plain = statements(token_only, "/api/v1/orders")
    # The same call from a browser where a manager of the shop is logged in: the whole chain would read the person
    # and their membership, answer "Vary: Cookie" and hand out a CSRF cookie.
    with_session = login(make_member(tenant, Role.MANAGER), tenant)
    with_session.defaults.update(bearer)
    along, with_cookie = statements(with_session, "/api/v1/orders")
    assert alone.status_code == along.status_code == 200
    assert with_cookie == plain
    assert not along.cookies
    assert "Cookie" not in along.headers.get("Vary", "")
    assert along.headers["Content-Language"] == "en"
    assert int(along.headers["Content-Length"]) == len(along.content)
    # What runs before the shortcut still runs for an API call.
    assert along.headers["X-Request-ID"]
    assert along.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in along.headers


def test_a_page_still_takes_the_whole_chain(client_for):
    response = client_for(Role.MANAGER).get("/orders/")
    assert response.status_code == 200
    assert response.wsgi_request.user.is_authenticated
    assert response.wsgi_request.tenant is not None
    assert "csrftoken" in response.cookies


def test_an_api_call_starts_bound_to_no_shop_whatever_the_thread_held_before(tenant):
    seen = []

    def view(request):
        seen.append((tenant_binding.current(), request.tenant, request.LANGUAGE_CODE))
        return HttpResponse(b"{}", content_type="application/json")

    api_shortcut.ApiShortcutEnd(view)
    shortcut = api_shortcut.ApiShortcut(lambda request: pytest.fail("an API call took the pages' chain"))
    rls.bind(tenant.pk)  # as a page's request on this thread left it
    shortcut(RequestFactory().get("/api/v1/orders", HTTP_ACCEPT_LANGUAGE="ru"))
    assert seen == [(None, None, "en")]


def test_the_shortcut_without_its_end_is_refused_at_start():
    api_shortcut.ApiShortcutEnd(lambda request: None)
    api_shortcut.ApiShortcut(lambda request: None)  # takes the end built just before it
    with pytest.raises(ImproperlyConfigured, match="ApiShortcutEnd"):
        api_shortcut.ApiShortcut(lambda request: None)  # a second chain with no end of its own

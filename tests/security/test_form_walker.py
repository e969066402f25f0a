"""Walks every form and filter of every screen with hostile values, the way the URL walker walks URLs.

For each role of the demo shop it crawls the screens reachable from the role's start screen, reads every <form>
(filters by GET, actions by POST with the page's CSRF token) and every query-string filter of the page's links, and
sends each field alone with NUL bytes, non-ASCII digits, huge numbers, NaN, over-long text, impossible dates and
page numbers past the end. Every answer must be a page, a redirect or a 4xx: never a 500, never an exception.
New screens are covered the day they appear in the navigation.
"""

import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve

from oms import rls
from oms.models import Tenant

pytestmark = pytest.mark.django_db

HOSTILE = ["a\x00b", "١٢٣", "５", "9" * 40, "1e309", "-99999999999999999999", "NaN", "Infinity", "x" * 20_000,
           "2026-02-30", "99999-01-01", ""]  # fmt: skip
PAGE_VALUES = ["999999", "-1", "abc", "1e309", "0"]
MAX_PAGES_PER_ROLE = 70
SKIP_PATHS = ("/accounts/logout/", "/settings/export/", "/api/")
# Forms whose submission ends the session or the walk's own data; their fields are still walked on other pages.
SKIP_ACTIONS = ("/accounts/logout/", "/accounts/password_change/")


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.forms, self._form = set(), [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "hx-get"):
            if attrs.get(key, "").startswith("/"):
                self.links.add(attrs[key])
        if tag == "form":
            self._form = {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea") and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                self._form["fields"].setdefault(attrs["name"], "")
                return
            value = attrs.get("value") or ""
            if tag == "select":
                self._form["_select"] = attrs["name"]
            self._form["fields"].setdefault(attrs["name"], value)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None:
            self._form.pop("_select", None)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    for form in page.forms:
        form.pop("_select", None)
    return page


def route_of(path: str) -> str:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return ""
    return match.view_name


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", orders=12)
    call_command("seed_shipments_demo")
    shop = Tenant.objects.get(slug="demo")
    rls.bind(None)
    return shop


def crawl(client: Client):
    """Pages reachable from the start screen (one per route name, so an order list does not walk every order)."""
    queue, seen_routes, pages = ["/"], set(), []
    while queue and len(pages) < MAX_PAGES_PER_ROLE:
        path = queue.pop(0)
        route = route_of(path)
        key = (route, urlsplit(path).query != "")
        if not route or key in seen_routes or path.startswith(SKIP_PATHS):
            continue
        seen_routes.add(key)
        response = client.get(path, follow=True)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        final = response.redirect_chain[-1][0] if response.redirect_chain else path
        pages.append((final, html))
        queue.extend(sorted(link for link in parse(html).links if not link.startswith(SKIP_PATHS)))
    return pages


def submissions(pages):
    """(label, method, path, data) for every field of every form and filter, one hostile value at a time."""
    done = set()
    for page_path, html in pages:
        page = parse(html)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        for form in page.forms:
            action = form["action"] or page_path
            if not action.startswith("/") or action.startswith(SKIP_ACTIONS) or action.startswith(SKIP_PATHS):
                continue
            fields = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
            key = (route_of(action), form["method"], tuple(sorted(fields)))
            if key in done:
                continue
            done.add(key)
            for name in fields:
                for value in HOSTILE:
                    data = {**fields, name: value}
                    if form["method"] == "post" and csrf:
                        data["csrfmiddlewaretoken"] = csrf.group(1)
                    yield f"{key[0]} {form['method']} {name}={value[:12]!r}", form["method"], action, data
        for link in sorted(page.links):
            parts = urlsplit(link)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            key = (route_of(parts.path), "get", tuple(sorted(params)))
            if not params or key in done:
                continue
            done.add(key)
            for name in params:
                for value in HOSTILE:
                    yield f"{key[0]} link {name}={value[:12]!r}", "get", parts.path, {**params, name: value}
        route = route_of(page_path)
        if ("page", route) not in done:
            done.add(("page", route))
            for value in PAGE_VALUES:
                yield f"{route} page={value}", "get", urlsplit(page_path).path, {"page": value}


@pytest.mark.parametrize("role", ["owner", "admin", "manager", "packer", "courier"])
def test_no_form_or_filter_answers_500_to_hostile_input(demo, role):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    user = get_user_model().objects.get(username=role)
    client.force_login(user)
    pages = crawl(client)
    assert len(pages) >= 2, f"{role} reached no screens"
    failures, sent = [], 0
    for label, method, path, data in submissions(pages):
        sent += 1
        response = client.get(path + "?" + urlencode(data)) if method == "get" else client.post(path, data)
        if response.status_code >= 500:
            failures.append(f"{label} -> {response.status_code}")
        if response.status_code == 302 and "/accounts/login/" in response.get("Location", ""):
            client.force_login(user)
    assert sent >= 20, f"{role}: only {sent} submissions"
    assert failures == [], f"{role}: {len(failures)} of {sent} submissions failed:\n" + "\n".join(failures[:60])


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999", "page=-1", "page=abc", "page_size=1e309", "page_size=0",
        "updated_since=garbage", "updated_since=2026-02-30T00:00:00Z", "root_id=1e309", "root_id=99999999999999999999",
        "status=%00", "group=NaN", "sku=" + "x" * 5000,
    ],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/products", "/api/v1/stock"])
def test_api_list_filters_answer_hostile_values_without_a_500(api_client, path, query):
    response = api_client.get(f"{path}?{query}")
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert "error" in response.json()

"""Every screen of every role, at phone and desktop width: the page is never wider than the screen, and the
browser reports no console error (a CSP violation is one) on the way, nor after the common htmx actions.

The screens are the project's URL patterns (tests/security/test_url_walker.py says who may open which) that take
no id, plus the detail pages of the demo shop's first order, customer, product and trigger. A wide table may
scroll inside its `.table-wrap`; the page itself may not.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError

from oms import rls
from oms.models import Preferences, Tenant
from tests.security.test_url_walker import ACCESS, PUBLIC, url_patterns

from .conftest import DESKTOP, PHONE
from .watch import overflow, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ["owner", "admin", "manager", "packer", "courier"]
NOT_SCREENS = {
    "logout",
    "healthz",
    "favicon",
    "notifications:badge",
    "orders:product_search",
    "oms:export",
    "shipments:document",
}


def screens_of(role: str, shop) -> list[str]:
    from django.urls import reverse

    from inventory.models import Product
    from notifications.models import Trigger
    from orders.models import Customer, Order

    paths = []
    for route, name, converters in url_patterns():
        rule = ACCESS.get(name)
        if not name or converters or route.startswith("api/") or name in NOT_SCREENS or rule is PUBLIC:
            continue
        if isinstance(rule, frozenset) and role not in rule:
            continue
        if not isinstance(rule, frozenset) and rule != "logged-in":
            continue
        try:
            paths.append(reverse(name))
        except Exception:  # noqa: BLE001 - a route that needs arguments we do not fill
            continue
    rls.bind(shop.pk)
    details = {
        "orders:detail": Order.objects.filter(tenant=shop).order_by("pk").first(),
        "orders:customer": Customer.objects.filter(tenant=shop).order_by("pk").first(),
        "inventory:product": Product.objects.filter(tenant=shop).order_by("pk").first(),
        "notifications:trigger_edit": Trigger.objects.filter(tenant=shop).order_by("pk").first(),
    }
    for name, obj in details.items():
        if obj is not None and role in ACCESS[name]:
            paths.append(reverse(name, args=[obj.pk]))
    return sorted(set(paths))


@pytest.fixture
def demo_shop(settings):
    settings.DEBUG = True
    call_command("seed_demo", orders=24)
    call_command("seed_shipments_demo")
    return Tenant.objects.get(slug="demo")


def visit_all(browser, live_server, shop, viewport) -> list[str]:
    problems = []
    for role in ROLES:
        context = browser.new_context(viewport=viewport, is_mobile=viewport["width"] < 500)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", role)
        page.fill("input[name=password]", "demo-pass-1")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/accounts/login/" not in page.url, f"{role} could not log in"
        visited = 0
        for path in screens_of(role, shop):
            if page.request.get(f"{live_server.url}{path}", max_redirects=0).status == 405:
                continue  # a POST-only URL
            errors.clear()
            try:
                response = page.goto(f"{live_server.url}{path}")
            except PlaywrightError:  # a POST-only URL answers 405 with no body
                continue
            if (
                response is None
                or response.status == 405
                or "text/html" not in response.headers.get("content-type", "")
            ):
                continue
            settle(page)
            visited += 1
            if response.status >= 500:
                problems.append(f"{role} {path}: {response.status}")
            found = overflow(page)
            if found["scrollWidth"] > found["width"] + 1 or found["wide"]:
                problems.append(
                    f"{role} {path} at {viewport['width']}px: {found['scrollWidth']}px wide {found['wide']}"
                )
            if role in ("manager", "owner") and re.fullmatch(r"/orders/\d+/", path):
                problems += [f"{role} {path}: {e}" for e in change_status_and_watch(page)]
            problems += [f"{role} {path}: {e}" for e in errors]
        assert visited >= 2, f"{role} saw only {visited} screen(s)"
        context.close()
    return problems


def change_status_and_watch(page) -> list[str]:
    """The order page's first status button: the swapped body must raise no console error either."""
    errors: list[str] = []
    listener = lambda m: m.type == "error" and errors.append(m.text)  # noqa: E731
    page.on("console", listener)
    button = page.locator("[data-testid^=to-]:not(.danger)").first
    if button.count():
        with page.expect_response(lambda r: "/status/" in r.url):
            button.click()
        settle(page)
    page.remove_listener("console", listener)
    return [f"after a status change: {e}" for e in errors]


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_every_screen_fits_and_the_console_stays_clean(demo_shop, live_server, browser, viewport, language):
    """Russian words run longer than English ones: every screen must fit in both."""
    if language != "en":
        for user in get_user_model().objects.all():
            Preferences.objects.update_or_create(user=user, defaults={"language": language})
    problems = visit_all(browser, live_server, demo_shop, viewport)
    assert problems == [], "\n".join(problems)


def test_the_phone_menu_opens_below_the_bar_with_every_link(demo_shop, live_server, phone_page):
    page = phone_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-pass-1")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click(".nav-toggle-label")
    brand = page.locator(".brand").bounding_box()
    nav = page.locator(".mainnav").bounding_box()
    assert nav["y"] >= brand["y"] + brand["height"] - 1  # below the logo, not beside it
    assert nav["width"] > 300
    assert page.get_by_role("link", name="Account").is_visible()

import pytest
from django.core.management import call_command

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START_HEADINGS = {
    "owner": "Analytics",
    "admin": "Settings",
    "manager": "Orders",
    "packer": "Packing station",
    "courier": "My route",
}


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", orders=8)


@pytest.mark.parametrize("role", START_HEADINGS)
def test_each_demo_role_logs_in_and_sees_its_start_screen(demo, live_server, page, role):
    log_in(page, live_server.url, role, "demo-pass-1")
    assert page.locator("h1").first.inner_text().startswith(START_HEADINGS[role])
    assert "Demo Shop" in page.locator(".topbar").inner_text()


def test_wrong_password_shows_an_error_and_stays_on_login(demo, live_server, page):
    log_in(page, live_server.url, "manager", "wrong")
    assert "/accounts/login/" in page.url
    assert page.locator(".flash-error").is_visible()

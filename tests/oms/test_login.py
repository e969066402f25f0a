from importlib import import_module

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oms.client_address import client_ip_address
from oms.models import Role
from tests.factories import PASSWORD, make_member

pytestmark = pytest.mark.django_db


def login(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_login_form_logs_in_and_lands_on_the_start_screen(tenant):
    user = make_member(tenant, Role.MANAGER)
    client = Client()
    assert login(client, user.username, PASSWORD).status_code == 302
    assert client.get("/")["Location"] == reverse("orders:list")


def test_pages_read_the_session_from_the_cache_and_the_database_behind_it(tenant):
    user = make_member(tenant, Role.MANAGER)
    client = Client()
    login(client, user.username, PASSWORD)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("orders:list")).status_code == 200
    assert not [q for q in captured.captured_queries if 'FROM "django_session"' in q["sql"]]
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=client.session.session_key)
    caches[settings.SESSION_CACHE_ALIAS].delete(store.cache_key)  # evicted, or Redis restarted empty
    assert client.get(reverse("orders:list")).status_code == 200


def login_via_proxy(client, username, password, *, forwarded_for, proxy="10.0.0.254"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_a_user_is_locked_out_at_an_address_after_the_limit_with_a_clear_message(tenant):
    user = make_member(tenant, Role.MANAGER)
    for _ in range(4):
        login(Client(), user.username, "wrong", address="10.0.0.7")
    assert login(Client(), user.username, PASSWORD, address="10.0.0.7").status_code == 302  # below the limit
    for _ in range(5):
        login(Client(), user.username, "wrong", address="10.0.0.7")
    locked = login(Client(), user.username, PASSWORD, address="10.0.0.7")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed logins" in page and user.username in page
    assert "paused for 15 minutes" in page


def test_guessing_unknown_names_from_an_address_never_locks_out_a_real_user_there(tenant):
    user = make_member(tenant, Role.MANAGER)
    for attempt in range(30):
        login(Client(), f"nobody-{attempt}", "wrong", address="10.9.9.9")
        login(Client(), "admin", "wrong", address="10.9.9.9")
    assert login(Client(), user.username, PASSWORD, address="10.9.9.9").status_code == 302


def test_failures_for_a_user_at_one_address_do_not_lock_that_user_out_elsewhere(tenant):
    user = make_member(tenant, Role.MANAGER)
    for _ in range(10):
        login(Client(), user.username, "wrong", address="198.51.100.66")
    assert login(Client(), user.username, PASSWORD, address="198.51.100.66").status_code == 429
    assert login(Client(), user.username, PASSWORD, address="10.0.0.1").status_code == 302


def test_a_spoofed_forwarded_for_is_ignored_without_a_trusted_proxy(tenant, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    user = make_member(tenant, Role.MANAGER)
    for attempt in range(5):  # a new made-up address each time does not dodge the limit
        login_via_proxy(Client(), user.username, "wrong", forwarded_for=f"203.0.113.{attempt}", proxy="10.0.0.9")
    assert (
        login_via_proxy(Client(), user.username, PASSWORD, forwarded_for="203.0.113.99", proxy="10.0.0.9").status_code
        == 429
    )
    assert login(Client(), user.username, PASSWORD, address="10.0.0.10").status_code == 302


def test_the_forwarded_for_of_a_trusted_proxy_names_the_client(tenant, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user = make_member(tenant, Role.MANAGER)
    for attempt in range(5):  # the client's own entries (left of the proxy's) change nothing
        login_via_proxy(Client(), user.username, "wrong", forwarded_for=f"192.0.2.{attempt}, 203.0.113.5")
    assert login_via_proxy(Client(), user.username, PASSWORD, forwarded_for="203.0.113.5").status_code == 429
    # Another client behind the same proxy is not the locked one.
    assert login_via_proxy(Client(), user.username, PASSWORD, forwarded_for="203.0.113.6").status_code == 302


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.254"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.253", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.254"),  # fewer entries than proxies: not through them all
        (1, "not-an-address", "10.0.0.254"),
        (1, "[2001:db8::1]", "2001:db8::1"),
        (1, "", "10.0.0.254"),
    ],
)
def test_client_address_takes_the_entry_the_outermost_trusted_proxy_wrote(settings, trusted, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip_address(request) == expected


def test_password_change_logs_out_other_sessions_and_validates(tenant):
    user = make_member(tenant, Role.MANAGER)
    laptop, phone = Client(), Client()
    login(laptop, user.username, PASSWORD)
    login(phone, user.username, PASSWORD, address="10.0.0.2")
    weak = laptop.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}
    )
    assert "too short" in weak.content.decode()
    strong = "Another-Pass-4821"
    laptop.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong}
    )
    assert laptop.get(reverse("orders:list")).status_code == 200
    assert phone.get(reverse("orders:list")).status_code == 302  # sent back to login


def test_session_cookie_flags_in_production(settings):
    from django.conf import settings as live

    assert live.SESSION_COOKIE_HTTPONLY and live.SESSION_COOKIE_SAMESITE == "Lax"


def test_a_login_name_longer_than_any_login_fails_as_a_wrong_login(tenant):
    page = login(Client(), "x" * 300, PASSWORD)  # longer than the throttle's record of a failure holds
    assert page.status_code == 200 and b"Please enter a correct" in page.content

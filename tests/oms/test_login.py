import pytest
from django.test import Client
from django.urls import reverse

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


def test_failed_logins_are_throttled_per_user(tenant):
    user = make_member(tenant, Role.MANAGER)
    client = Client()
    for attempt in range(5):
        login(client, user.username, "wrong", address=f"10.0.0.{attempt}")
    locked = login(client, user.username, PASSWORD, address="10.0.1.1")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()


def test_failed_logins_are_throttled_per_address(tenant):
    users = [make_member(tenant, Role.MANAGER) for _ in range(6)]
    client = Client()
    for user in users[:5]:
        login(client, user.username, "wrong", address="10.9.9.9")
    assert login(client, users[5].username, PASSWORD, address="10.9.9.9").status_code == 429
    assert login(Client(), users[5].username, PASSWORD, address="10.9.9.8").status_code == 302


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

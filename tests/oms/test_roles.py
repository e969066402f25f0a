import pytest
from django.urls import reverse

from oms.models import Role

pytestmark = pytest.mark.django_db

# Screens of one role family, and the roles that may open them.
SCREENS = {
    "oms:settings": {Role.OWNER, Role.ADMIN},
    "orders:list": {Role.OWNER, Role.MANAGER},
    "orders:customers": {Role.OWNER, Role.MANAGER},
    "inventory:products": {Role.OWNER, Role.MANAGER, Role.ADMIN},
    "shipments:packing": {Role.OWNER, Role.MANAGER, Role.PACKER},
    "shipments:route": {Role.COURIER},
    "notifications:inbox": {Role.OWNER, Role.MANAGER, Role.ADMIN},
    "analytics:home": {Role.OWNER},
}


@pytest.mark.parametrize("url_name,allowed", SCREENS.items())
@pytest.mark.parametrize("role", Role.values)
def test_each_role_sees_only_its_screens(client_for, url_name, allowed, role):
    response = client_for(role).get(reverse(url_name))
    assert response.status_code == (200 if role in allowed else 403)


@pytest.mark.parametrize("url_name", SCREENS)
def test_anonymous_users_are_sent_to_login(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


START_SCREENS = {
    Role.OWNER: "analytics:home",
    Role.ADMIN: "oms:settings",
    Role.MANAGER: "orders:list",
    Role.PACKER: "shipments:packing",
    Role.COURIER: "shipments:route",
}


@pytest.mark.parametrize("role", Role.values)
def test_each_role_lands_on_its_start_screen(client_for, role):
    response = client_for(role).get("/")
    assert response["Location"] == reverse(START_SCREENS[role])


def test_403_page_has_the_site_look(client_for):
    response = client_for(Role.COURIER).get(reverse("oms:settings"))
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()

"""Each person reads the interface in their own language (English or Russian), chosen on their account page."""

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from oms.models import Preferences, Role
from tests.conftest import login as session_login
from tests.factories import PASSWORD, make_member

from .test_login import login

pytestmark = pytest.mark.django_db


def test_the_interface_is_english_until_a_person_chooses(client_for):
    body = client_for(Role.MANAGER).get(reverse("orders:list")).content.decode()
    assert '<html lang="en">' in body and ">Orders<" in body and "Заказы" not in body


def test_a_person_chooses_russian_and_every_page_follows(tenant, client_for):
    manager = make_member(tenant, Role.MANAGER)
    client = session_login(manager, tenant)
    response = client.post(reverse("oms:account"), {"language": "ru"}, follow=True)
    assert response.redirect_chain == [(reverse("oms:account"), 302)]
    assert "Язык сохранён." in response.content.decode()  # the confirmation already in the new language
    assert Preferences.objects.get(user=manager).language == "ru"
    body = client.get(reverse("orders:list")).content.decode()
    assert '<html lang="ru">' in body and ">Заказы<" in body and ">Выйти<" in body
    # Someone else in the same shop keeps English.
    other = client_for(Role.MANAGER).get(reverse("orders:list")).content.decode()
    assert ">Orders<" in other


def test_a_language_not_offered_is_refused_and_changes_nothing(tenant):
    manager = make_member(tenant, Role.MANAGER)
    client = session_login(manager, tenant)
    response = client.post(reverse("oms:account"), {"language": "xx"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Preferences.objects.filter(user=manager).exists()


def test_the_choice_follows_the_person_to_their_next_login_whatever_the_browser_says(tenant):
    manager = make_member(tenant, Role.MANAGER)
    Preferences.objects.create(user=manager, language="ru")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert login(client, manager.username, PASSWORD).status_code == 302
    assert ">Заказы<" in client.get(reverse("orders:list"), follow=True).content.decode()


def test_the_login_page_follows_the_browser(db):
    assert ">Войти<" in Client(HTTP_ACCEPT_LANGUAGE="ru").get(reverse("login")).content.decode()
    assert ">Log in<" in Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("login")).content.decode()


def test_the_account_page_needs_a_login(db):
    response = Client().get(reverse("oms:account"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_every_role_reaches_its_own_account_page(client_for):
    for role in Role.values:
        assert client_for(role).get(reverse("oms:account")).status_code == 200


def test_the_russian_catalogue_is_complete_and_compiled():
    po_path = Path(settings.LOCALE_PATHS[0]) / "ru" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    assert catalogue.percent_translated() == 100, [e.msgid for e in catalogue.untranslated_entries()]
    assert not catalogue.fuzzy_entries()
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    assert {e.msgid for e in mo} >= {e.msgid for e in catalogue if not e.obsolete}, "run compilemessages"
    with translation.override("ru"):
        assert translation.gettext("Orders") == "Заказы"

"""A service's refusal speaks the reader's language on the pages; the REST API answers in English whatever is asked."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from oms.i18n import SESSION_LANGUAGE_KEY
from oms.models import Preferences, Role
from oms.services import create_api_token
from orders.errors import TransitionBlocked
from orders.services.statuses import change_status
from tests.conftest import login
from tests.factories import make_member

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def russian_client(tenant) -> Client:
    manager = make_member(tenant, Role.MANAGER)
    Preferences.objects.create(user=manager, language="ru")
    client = login(manager, tenant)
    session = client.session
    session[SESSION_LANGUAGE_KEY] = "ru"
    session.save()
    return client


def test_a_blocked_status_change_is_explained_in_russian_on_the_page(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 1)])
    move(order, "confirmed")
    page = russian_client(tenant).post(reverse("orders:change_status", args=[order.pk]), {"to": "assembling"}, **HTMX)
    body = page.content.decode()
    assert "не может перейти в группу" in body and "0 из 1" in body
    assert "cannot enter group" not in body and "0 of 1 reserved" not in body


def test_the_refusal_keeps_english_details_whatever_the_language(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 1)])
    move(order, "confirmed")
    with translation.override("ru"), pytest.raises(TransitionBlocked) as refused:
        change_status(order=order, to_code="assembling", actor=SYSTEM)
    assert "не может перейти в группу" in refused.value.message
    assert refused.value.code == "transition_blocked"
    assert all(reason.endswith("0 of 1 reserved") for reason in refused.value.details["reasons"])


def test_the_api_answers_in_english_whatever_the_client_asks(tenant):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 1)])
    move(order, "confirmed")
    _, raw = create_api_token(tenant=tenant, name="tests")
    # A Russian person's browser session rides along too: neither it nor the header may switch the API.
    client = russian_client(tenant)
    answer = client.post(
        f"/api/v1/orders/{order.pk}/transition",
        data=json.dumps({"to": "assembling"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "transition_blocked"
    assert error["message"].startswith("The order cannot enter group 'assembly': Line ")
    assert error["message"].endswith("0 of 1 reserved")
    assert answer["Content-Language"] == "en"
    # The same client's next page is Russian again.
    assert ">Заказы<" in client.get(reverse("orders:list")).content.decode()

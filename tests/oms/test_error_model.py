"""One error model: services raise domain errors; pages show them through one helper, the API through one handler."""

import re
from pathlib import Path

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory

from oms.errors import Conflict, DomainError
from oms.pages import NON_FIELD_ERRORS, run_service

ROOT = Path(__file__).resolve().parents[2]
APPS = ["oms", "inventory", "orders", "shipments", "notifications", "analytics"]


class Duplicate(Conflict):
    code = "duplicate_thing"
    field = "code"


class ThingForm(forms.Form):
    code = forms.CharField()
    name = forms.CharField()


def page_request():
    request = RequestFactory().post("/")
    request.user, request.role, request.session = AnonymousUser(), None, SessionStore()
    request._messages = FallbackStorage(request)
    return request


def refuse(exc):
    def action(actor):
        raise exc

    return action


def shown(request) -> list[str]:
    return [str(m) for m in get_messages(request)]


def test_an_error_shows_next_to_the_field_it_names():
    request, form = page_request(), ThingForm({"code": "A", "name": "x"})
    form.is_valid()
    ok, error = run_service(request, refuse(Duplicate("Code A is taken.")), form=form, field="name")
    assert not ok and error.code == "duplicate_thing"
    assert form.errors["code"] == ["Code A is taken."] and "name" not in form.errors and shown(request) == []


def test_an_error_naming_no_field_of_the_form_goes_to_the_fallback_field_or_above_the_form():
    request, form = page_request(), ThingForm({"code": "A", "name": "x"})
    form.is_valid()
    run_service(request, refuse(DomainError("Bad name.")), form=form, field="name")
    run_service(request, refuse(DomainError("Bad day.", field="day")), form=form, field=NON_FIELD_ERRORS)
    assert form.errors["name"] == ["Bad name."] and form.non_field_errors() == ["Bad day."]


def test_without_a_form_the_error_is_a_message_unless_the_caller_says_it_itself():
    request = page_request()
    run_service(request, refuse(DomainError("Not now.")))
    ok, error = run_service(request, refuse(DomainError("Scan refused.")), notify=False)
    assert shown(request) == ["Not now."] and not ok and error.message == "Scan refused."


def test_success_is_told_with_our_text_and_the_result_is_returned():
    request = page_request()
    ok, result = run_service(request, lambda actor: {"n": 3}, lambda result: f"Made {result['n']}.")
    assert ok and result == {"n": 3} and shown(request) == ["Made 3."]


def test_an_error_that_is_not_a_domain_error_is_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        run_service(page_request(), lambda actor: 1 / 0)


def _modules(pattern: str):
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if re.search(pattern, relative) and "migrations" not in relative:
                yield relative, path.read_text()


def test_views_and_api_modules_leave_domain_errors_to_the_one_helper_and_the_one_handler():
    catching = [name for name, text in _modules(r"(^|/)(views(/.*)?|api)\.py$|/views/") if "except DomainError" in text]
    assert catching == []


def test_services_raise_no_value_error_for_a_users_mistake():
    """ValueError is for programming errors; what a user (or an admin) did wrong is a DomainError with a code."""
    raising = [
        f"{name}: {line.strip()}"
        for name, text in _modules(r"(^|/)services(/.*)?\.py$|/services/")
        for line in text.splitlines()
        if "raise ValueError(" in line
    ]
    allowed = {  # an argument no caller can get from a user: a programming error
        "orders/services/editing.py: raise ValueError(fact)",
        'notifications/services/sla.py: raise ValueError("Time limit too long to place in working hours.")',
    }
    assert set(raising) <= allowed


@pytest.mark.django_db
def test_merging_a_customer_into_itself_is_a_domain_error(tenant):
    from orders.services import customers

    from ..orders.helpers import place_order, stocked_product

    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with pytest.raises(DomainError, match="cannot be merged into itself"):
        customers.merge_customers(keep=order.customer, duplicate=order.customer)

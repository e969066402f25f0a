"""Webhook receivers' documentation comes from the event catalogue: the docs page and the settings screen."""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from notifications import webhook_docs
from oms.event_catalogue import CATALOGUE
from oms.models import Role

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_the_docs_page_is_written_from_the_catalogue_and_up_to_date():
    assert DOCS_PAGE.read_text() == webhook_docs.markdown(), "run: python manage.py webhook_docs > docs/webhooks.md"


def test_the_docs_page_lists_every_kind_with_every_field_and_an_example_body():
    page = DOCS_PAGE.read_text()
    for event in CATALOGUE:
        assert f"### `{event.kind}`" in page
        for name, _, _ in event.field_docs():
            assert f"| `{name}` |" in page.split(f"### `{event.kind}`")[1]
        body = json.dumps(webhook_docs.example_body(event), indent=2, sort_keys=True)
        assert body in page


@pytest.mark.django_db
def test_the_webhook_settings_list_every_kind_with_an_example_body(client_for):
    html = client_for(Role.ADMIN).get(reverse("notifications:webhooks")).content.decode()
    for event in CATALOGUE:
        assert f'data-kind="{event.kind}"' in html
        example = json.dumps(webhook_docs.example_body(event), indent=2, sort_keys=True)
        assert example.replace('"', "&quot;") in html


def test_an_example_body_has_the_shape_receivers_get():
    body = webhook_docs.example_body(CATALOGUE[0])
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == CATALOGUE[0].kind

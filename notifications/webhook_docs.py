"""What a webhook receiver needs to know, written from the event catalogue (`oms.event_catalogue`).

The same source feeds the page docs/webhooks.md (`python manage.py webhook_docs > docs/webhooks.md`; a test
fails when the file is stale) and the reference on the webhook settings screen, so neither can miss a kind.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from oms.event_catalogue import CATALOGUE, DomainEvent

from .services.webhooks import MAX_ATTEMPTS, TIMEOUT_SECONDS, body_of

EXAMPLE_TIME = datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC)


@dataclass(frozen=True)
class KindDoc:
    kind: str
    label: str
    description: str
    fields: list[tuple[str, str, str]]  # (name, JSON type, description)
    example_body: str  # a whole request body, pretty-printed


def example_body(event: type[DomainEvent]) -> dict:
    return body_of(kind=event.kind, at=EXAMPLE_TIME, payload=event.example().payload())


def kind_docs() -> list[KindDoc]:
    return [
        KindDoc(
            kind=event.kind,
            label=event.label,
            description=event.description,
            fields=event.field_docs(),
            example_body=json.dumps(example_body(event), indent=2, sort_keys=True),
        )
        for event in CATALOGUE
    ]


INTRO = f"""\
# Webhooks: events and their bodies

<!-- Generated from oms/event_catalogue.py by `python manage.py webhook_docs > docs/webhooks.md`; do not edit. -->

An admin adds an endpoint (a URL and the events it wants) in Settings → Automation → Webhooks, or through
`POST /api/v1/webhooks` `{{"url", "events": [...]}}`. The endpoint then receives the events that happen after
it was created.

## The request

Each event is one `POST` with a JSON body `{{"type", "timestamp", "data"}}`: `type` is the event kind below,
`timestamp` when it happened (ISO 8601), `data` the kind's payload. Fields may be added to a payload over
time; none is renamed or removed, so ignore what you do not know.

Requests are signed per the [Standard Webhooks](https://www.standardwebhooks.com/) specification, so a stock
library (the `standardwebhooks` package, Svix's verifiers) can check them with the endpoint's secret
(`whsec_…`):

- `webhook-id`: the event id, the same on every retry: use it to ignore repeats;
- `webhook-timestamp`: unix seconds of this attempt;
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{{webhook-id}}.{{webhook-timestamp}}.{{raw body}}">`, keyed by
  the secret's decoded bytes. After a secret is rotated the old one stays valid for 24 hours and both
  signatures are sent, separated by a space.

Answer with any 2xx within {TIMEOUT_SECONDS} seconds. Anything else (or no answer) is retried with growing delays,
{MAX_ATTEMPTS} attempts over more than 24 hours; the same event id always carries the same body.

## Event kinds

| kind | when |
| --- | --- |
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    docs = kind_docs()
    parts = [INTRO]
    parts += [f"| [`{doc.kind}`](#{doc.kind.replace('.', '')}) | {_cell(doc.label)} |\n" for doc in docs]
    for doc in docs:
        parts.append(f"\n### `{doc.kind}`\n\n**{doc.label}.** {doc.description}\n\n")
        parts.append("| field | type | meaning |\n| --- | --- | --- |\n")
        parts += [f"| `{name}` | {kind} | {_cell(text)} |\n" for name, kind, text in doc.fields]
        parts.append(f"\nExample body:\n\n```json\n{doc.example_body}\n```\n")
    return "".join(parts)

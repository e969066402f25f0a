"""Message templates move from Django's template language to the Jinja2 sandbox: convert stored texts.

The defaults differ only in `|default:'…'`; other texts get the same mechanical rewrite of Django's filter
arguments (`|name:arg` → `|name(arg)`) and `{% empty %}` (→ `{% else %}`). A text using anything the sandbox
refuses stays as it is: sending it records a failed message with the reason, and saving it names the problem.
"""

import re

from django.db import migrations

OLD_SHIPPED_BODY = (
    "Hello {{ customer_name }},\n\nyour order {{ order_number }} has been handed to "
    "{{ carrier|default:'our courier' }}.{% if tracking_number %} Tracking number: {{ tracking_number }}."
    "{% endif %}\n\nFollow it here: {{ tracking_url }}\n\n{{ shop }}"
)
NEW_SHIPPED_BODY = OLD_SHIPPED_BODY.replace("carrier|default:'our courier'", "carrier or 'our courier'")

ARGUMENT = r"""("[^"]*"|'[^']*'|[\w.]+)"""
DJANGO_DEFAULT = re.compile(r"\|\s*default(_if_none)?\s*:\s*" + ARGUMENT)
DJANGO_FILTER_ARGUMENT = re.compile(r"\|\s*(\w+)\s*:\s*" + ARGUMENT)
DJANGO_EMPTY = re.compile(r"{%(-?)\s*empty\s*(-?)%}")


def to_jinja(text: str) -> str:
    if text == OLD_SHIPPED_BODY:
        return NEW_SHIPPED_BODY
    # Django's `default` replaces any false value; Jinja's only an undefined one unless asked with `true`.
    text = DJANGO_DEFAULT.sub(lambda m: f"|default({m.group(2)}{'' if m.group(1) else ', true'})", text)
    text = DJANGO_FILTER_ARGUMENT.sub(r"|\1(\2)", text)
    return DJANGO_EMPTY.sub(r"{%\1 else \2%}", text)


def convert(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # every shop's rows, for this transaction only
            cursor.execute("SELECT set_config('app.all_tenants', 'on', true)")
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    for template in MessageTemplate.objects.all().iterator():
        subject, body = to_jinja(template.subject), to_jinja(template.body)
        if (subject, body) != (template.subject, template.body):
            MessageTemplate.objects.filter(pk=template.pk).update(subject=subject, body=body)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_holidays"),
    ]

    operations = [
        migrations.RunPython(convert, migrations.RunPython.noop),
    ]

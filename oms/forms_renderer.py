"""How form widgets render: Django's own Jinja2 widget templates, but a select prints its options inline.

Django's select template includes a template per option, and that option template includes another for its
attributes: the order list's filter (statuses, managers, channels, ...) rendered some 130 templates per page.
`form_widgets/django/forms/widgets/select.html` prints the same markup in one loop; every other widget is Django's.
"""

from pathlib import Path

import django.forms
from django.forms import renderers
from django.utils.functional import cached_property

OWN_WIDGETS = Path(__file__).parent / "form_widgets"
DJANGO_WIDGETS = Path(django.forms.__file__).parent / "jinja2"


class Jinja2(renderers.Jinja2):
    @cached_property
    def engine(self):
        return self.backend(
            {"APP_DIRS": True, "DIRS": [OWN_WIDGETS, DJANGO_WIDGETS], "NAME": "djangoforms", "OPTIONS": {}}
        )

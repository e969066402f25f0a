from django import forms
from django.forms.renderers import Jinja2 as DjangoJinja2
from django.forms.renderers import get_default_renderer
from django.urls import reverse

from oms.forms_renderer import OWN_WIDGETS
from oms.jinja import url_of_each


class Choices(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("x", '<X & "y">'), ("group", [("g1", "G1"), ("g2", "G2")])])
    many = forms.MultipleChoiceField(choices=[("1", "One"), ("2", "Two")], required=False)
    marked = forms.ChoiceField(
        choices=[("1", "One")], widget=forms.Select(attrs={"class": "c", "disabled": True, "data-x": False})
    )
    typed = forms.TypedChoiceField(choices=[(None, "none"), (2, "two")], coerce=int, required=False)


def test_a_select_prints_its_options_in_one_template_with_djangos_markup():
    template = get_default_renderer().get_template("django/forms/widgets/select.html")
    assert template.template.filename.startswith(str(OWN_WIDGETS))
    for data in (None, {"plain": "x", "many": ["1", "2"], "marked": "1", "typed": "2"}, {"plain": "g2"}):
        ours = str(Choices(data))
        assert ours == str(Choices(data, renderer=DjangoJinja2()))
    assert '<option value="g2" selected>G2</option>' in ours and '<optgroup label="group">' in ours


def test_url_of_each_gives_reverses_answer_for_every_id():
    order_url = url_of_each("orders:detail")
    for pk in (1, 42, 9_876_543_210):
        assert order_url(pk) == reverse("orders:detail", args=[pk])

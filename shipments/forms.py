import json

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DEFAULT_TRACKING_STATUS_MAP, CarrierKind, ShipmentState

MAX_LOGO_BYTES = 1_000_000


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_holds_nul(v) for v in value)


def _json_for_column(raw: str):
    """JSON a jsonb column can hold: PostgreSQL refuses NaN, infinities, lone surrogates and \\u0000 (a 500 at
    save), and the parser gives up on nesting deeper than Python's recursion limit."""
    try:
        value = json.loads(raw)
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode()
        if _holds_nul(value):
            raise ValueError("\\u0000")
    except (ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise forms.ValidationError(_("Not valid JSON.")) from exc
    return value


class CarrierForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CarrierKind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    base_url = forms.URLField(
        label=_("Base URL"),
        max_length=200,  # the column's
        required=False,
        assume_scheme="https",
        help_text=_("HTTP/JSON carriers only."),
    )
    token = forms.CharField(
        label=_("Token"),
        max_length=255,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Blank keeps it."),
    )
    status_mapping = forms.CharField(
        label=_("Status mapping"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_('JSON: {"CARRIER_WORD": "in_transit"}'),
    )
    poll_interval_seconds = forms.IntegerField(
        label=_("Poll interval seconds"), min_value=30, max_value=86_400, initial=900
    )
    is_active = forms.BooleanField(label=_("Is active"), required=False, initial=True)

    def clean_status_mapping(self):
        mapping = _json_for_column((self.cleaned_data.get("status_mapping") or "").strip() or "{}")
        if not isinstance(mapping, dict):
            raise forms.ValidationError(_('Give an object like {"DELIVERED": "delivered"}.'))
        if self.data.get("kind") == CarrierKind.HTTP:
            wrong = sorted(str(v) for v in mapping.values() if v not in ShipmentState.values)
            if wrong:
                raise forms.ValidationError(
                    _("Unknown states: %(wrong)s. Use: %(known)s.")
                    % {"wrong": ", ".join(wrong), "known": ", ".join(ShipmentState.values)}
                )
        return mapping

    def clean(self):
        data = super().clean()
        # an address that failed its own check already says so: one message per field
        if data.get("kind") == CarrierKind.HTTP and not data.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", _("An HTTP carrier needs its base URL."))
        return data


class ShipmentSettingsForm(forms.Form):
    departure_deadline = forms.TimeField(
        label=_("Departure deadline"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_of_day = forms.TimeField(label=_("End of day"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    logo = forms.ImageField(
        label=_("Logo"), required=False, help_text=_("PNG or JPEG, up to 1 MB, printed on documents.")
    )
    tracking_status_map = forms.CharField(
        label=_("Tracking status map"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "JSON: shipment state → status purpose (in_transit, at_pickup_point, delivery_problem, refused, "
            "...) or a status code; blank = leave the order where it is. Purposes keep working when codes are renamed."
        ),
        initial=json.dumps(DEFAULT_TRACKING_STATUS_MAP, indent=1),
    )

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and logo.size > MAX_LOGO_BYTES:
            raise forms.ValidationError(_("The logo may be at most 1 MB."))
        return logo

    def clean_tracking_status_map(self):
        mapping = _json_for_column(self.cleaned_data["tracking_status_map"] or "{}")
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise forms.ValidationError(_('Give an object like {"in_transit": "in-transit"}.'))
        unknown = sorted(set(mapping) - set(ShipmentState.values))
        if unknown:
            raise forms.ValidationError(_("Unknown shipment states: %(states)s.") % {"states": ", ".join(unknown)})
        return mapping

import json

from django import forms

from .models import DEFAULT_TRACKING_STATUS_MAP, CarrierKind, ShipmentState

MAX_LOGO_BYTES = 1_000_000


class CarrierForm(forms.Form):
    kind = forms.ChoiceField(choices=CarrierKind.choices)
    name = forms.CharField(max_length=100)
    base_url = forms.URLField(
        label="Base URL", required=False, assume_scheme="https", help_text="HTTP/JSON carriers only."
    )
    token = forms.CharField(
        max_length=255, required=False, widget=forms.PasswordInput(render_value=False), help_text="Blank keeps it."
    )
    status_mapping = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text='JSON: {"CARRIER_WORD": "in_transit"}'
    )
    poll_interval_seconds = forms.IntegerField(min_value=30, max_value=86_400, initial=900)
    is_active = forms.BooleanField(required=False, initial=True)

    def clean_status_mapping(self):
        raw = (self.cleaned_data.get("status_mapping") or "").strip() or "{}"
        try:
            mapping = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError("Not valid JSON.") from exc
        if not isinstance(mapping, dict):
            raise forms.ValidationError('Give an object like {"DELIVERED": "delivered"}.')
        if self.data.get("kind") == CarrierKind.HTTP:
            wrong = sorted(str(v) for v in mapping.values() if v not in ShipmentState.values)
            if wrong:
                raise forms.ValidationError(
                    f"Unknown states: {', '.join(wrong)}. Use: {', '.join(ShipmentState.values)}."
                )
        return mapping

    def clean(self):
        data = super().clean()
        if data.get("kind") == CarrierKind.HTTP and not data.get("base_url"):
            self.add_error("base_url", "An HTTP carrier needs its base URL.")
        return data


class ShipmentSettingsForm(forms.Form):
    departure_deadline = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_of_day = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    logo = forms.ImageField(required=False, help_text="PNG or JPEG, up to 1 MB, printed on documents.")
    tracking_status_map = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="JSON: shipment state → status purpose (in_transit, at_pickup_point, delivery_problem, refused, "
        "...) or a status code; blank = leave the order where it is. Purposes keep working when codes are renamed.",
        initial=json.dumps(DEFAULT_TRACKING_STATUS_MAP, indent=1),
    )

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and logo.size > MAX_LOGO_BYTES:
            raise forms.ValidationError("The logo may be at most 1 MB.")
        return logo

    def clean_tracking_status_map(self):
        try:
            mapping = json.loads(self.cleaned_data["tracking_status_map"] or "{}")
        except ValueError as exc:
            raise forms.ValidationError("Not valid JSON.") from exc
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise forms.ValidationError('Give an object like {"in_transit": "in-transit"}.')
        unknown = sorted(set(mapping) - set(ShipmentState.values))
        if unknown:
            raise forms.ValidationError(f"Unknown shipment states: {', '.join(unknown)}.")
        return mapping

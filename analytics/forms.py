from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import REVENUE_GROUP_CHOICES
from .reports import ReportFilters

MAX_SPAN_DAYS = 366 * 5


class ReportFilterForm(forms.Form):
    """Date range (inclusive), channel, and for cohorts the period and metric. Bad input falls back to defaults."""

    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    period = forms.ChoiceField(label=_("Period"), required=False, choices=[("month", _("Month")), ("week", _("Week"))])
    metric = forms.ChoiceField(
        label=_("Metric"), required=False, choices=[("customers", _("Customers")), ("revenue", _("Revenue"))]
    )

    def __init__(self, *args, channels: list[str], default_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_days = default_days
        self.fields["channel"].choices = [("", _("All channels"))] + [(c, c) for c in channels]

    def default_start(self, period: str):
        """Whole periods: the last 12 months from the 1st, or the last 26 weeks from a Monday (cohorts)."""
        today = timezone.localdate()
        if period == "week":
            monday = today - timedelta(days=today.weekday())
            return monday - timedelta(weeks=min(self.default_days // 7, 26) - 1)
        if self.default_days >= 365:  # this month and the eleven before it
            months = today.year * 12 + today.month - 1 - 11
            return date(months // 12, months % 12 + 1, 1)
        return today - timedelta(days=self.default_days)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if start and end and (end - start).days > MAX_SPAN_DAYS:
            raise forms.ValidationError(_("Choose a range of at most five years."))
        return data

    def filters(self) -> ReportFilters:
        """The chosen filters, or the defaults (the last `default_days`, all channels) where input was bad."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        period = data.get("period") or "month"
        date_from = data.get("date_from")
        if not date_from and not data.get("date_to"):
            date_from = self.default_start(period)
        return ReportFilters(
            date_from=date_from,
            date_to=data.get("date_to"),
            channel=data.get("channel") or "",
            period=period,
            metric=data.get("metric") or "customers",
        )


class AnalyticsSettingsForm(forms.Form):
    revenue_groups = forms.MultipleChoiceField(
        choices=REVENUE_GROUP_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label=_("Order groups that count as revenue"),
        help_text=_(
            "An order family is a purchase once one of its orders is in a chosen group. Cancelled orders never count."
        ),
        error_messages={"required": "Choose at least one group."},
    )

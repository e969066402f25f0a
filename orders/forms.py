from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from inventory.services import MAX_PRICE
from oms.models import Role

from . import marks
from .models import Group, OrderStatus, PaymentKind, PaymentStatus, StatusPurpose
from .selectors import channels_in_use
from .services.amounts import MAX_LINE_QUANTITY

SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "-total": ("-total", "-pk"),
    "total": ("total", "pk"),
    "number": ("number",),
    "status": ("status__position", "-created_at"),
}


def manager_choices(tenant):
    user_model = get_user_model()
    users = (
        user_model.objects.filter(memberships__tenant=tenant, memberships__role__in=[Role.MANAGER, Role.OWNER])
        .order_by(user_model.USERNAME_FIELD)
        .values_list("pk", user_model.USERNAME_FIELD)  # names only: no password hashes read for a select
        .distinct()
    )
    return [("", _("Any manager"))] + [(str(pk), name) for pk, name in users]


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Number, phone, e-mail or name"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    group = forms.ChoiceField(label=_("Group"), required=False, choices=[("", _("Any group")), *Group.choices])
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    manager = forms.ChoiceField(label=_("Manager"), required=False)
    payment_status = forms.ChoiceField(
        required=False, label=_("Payment"), choices=[("", _("Any payment")), *PaymentStatus.choices]
    )
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-total", _("Largest total")),
            ("total", _("Smallest total")),
            ("number", _("Number")),
            ("status", _("Status")),
        ],
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.statuses = list(OrderStatus.objects.filter(tenant=tenant).order_by("position", "pk"))
        self.fields["status"].choices = [("", _("Any status"))] + [(s.code, s.name) for s in self.statuses]
        self.fields["manager"].choices = manager_choices(tenant)
        self.fields["channel"].choices = [("", _("Any channel"))] + [(c, c) for c in channels_in_use(tenant=tenant)]
        for mark in marks.registered():  # one checkbox per mark other apps put on orders
            self.fields[mark.name] = forms.BooleanField(required=False, label=mark.filter_label)

    @property
    def mark_fields(self):
        return [self[mark.name] for mark in marks.registered()]


class OrderFieldsForm(forms.Form):
    delivery_method = forms.CharField(label=_("Delivery method"), max_length=60, required=False)
    delivery_address = forms.CharField(
        label=_("Delivery address"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    payment_method = forms.CharField(label=_("Payment method"), max_length=60, required=False)
    manager_id = forms.TypedChoiceField(required=False, label=_("Manager"), coerce=int, empty_value=None)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager_id"].choices = [("", _("Unassigned")), *manager_choices(tenant)[1:]]


class LineForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000)
    price = forms.DecimalField(label=_("Price"), min_value=0, max_digits=12, decimal_places=2)
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_digits=12, decimal_places=2, required=False)
    # The quantity the page showed: a line split or edited since is not overwritten by a form opened before.
    shown_quantity = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)


class ChargesForm(forms.Form):
    delivery_cost = forms.DecimalField(
        label=_("Delivery cost"), min_value=0, max_digits=12, decimal_places=2, required=False
    )
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_digits=12, decimal_places=2, required=False)


class AddLineForm(forms.Form):
    code = forms.CharField(label=_("Product (SKU or barcode)"), max_length=64)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000, initial=1)
    price = forms.DecimalField(
        label=_("Price"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty for the catalogue price."),
    )


LINE_PRICE = forms.DecimalField(min_value=0, max_value=MAX_PRICE, max_digits=12, decimal_places=2)


class NewOrderForm(forms.Form):
    customer_name = forms.CharField(max_length=200, label=_("Customer name"))
    customer_phone = forms.CharField(max_length=40, required=False, label=_("Phone"))
    customer_email = forms.EmailField(max_length=200, required=False, label=_("E-mail"))  # a contact holds 200
    channel = forms.CharField(label=_("Channel"), max_length=40, initial="phone", required=False)
    delivery_method = forms.CharField(label=_("Delivery method"), max_length=60, required=False)
    delivery_address = forms.CharField(
        label=_("Delivery address"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    payment_method = forms.CharField(label=_("Payment method"), max_length=60, required=False)
    payment_status = forms.ChoiceField(
        label=_("Payment status"),
        choices=[(PaymentStatus.UNPAID, _("Unpaid")), (PaymentStatus.PAID, _("Paid in full"))],
        help_text=_("Paid in full records one payment of the order's total."),
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    lines = forms.CharField(
        required=False,
        label=_("Or type lines"),
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("One line per product: SKU quantity [price]\nMUG-LOGO 2")}
        ),
        help_text=_("One line per product: SKU or barcode, quantity and optionally a price, separated by spaces."),
    )

    def clean_lines(self):
        parsed = self._picked_lines()
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) not in (2, 3):
                raise forms.ValidationError(
                    _("Line %(number)d: write 'SKU quantity' or 'SKU quantity price'.") % {"number": number}
                )
            try:
                quantity = int(parts[1])
                price = LINE_PRICE.clean(parts[2]) if len(parts) == 3 else None
            except (ValueError, forms.ValidationError) as exc:
                raise forms.ValidationError(
                    _(
                        "Line %(number)d: quantity must be a whole number and price a sum from 0 to %(max)s "
                        "with at most two decimal places."
                    )
                    % {"number": number, "max": f"{MAX_PRICE:,}"}
                ) from exc
            if not 1 <= quantity <= MAX_LINE_QUANTITY:
                raise forms.ValidationError(
                    _("Line %(number)d: quantity must be between 1 and %(max)s.")
                    % {"number": number, "max": f"{MAX_LINE_QUANTITY:,}"}
                )
            parsed.append((parts[0], quantity, price))
        if not parsed:
            raise forms.ValidationError(_("Add at least one product."))
        return parsed

    def _picked_lines(self) -> list[tuple[str, int, None]]:
        """Lines picked from the product search (`line_sku` with its `line_qty`)."""
        if not hasattr(self.data, "getlist"):
            return []
        picked = []
        for sku, raw in zip(self.data.getlist("line_sku"), self.data.getlist("line_qty"), strict=False):
            sku = sku.strip()[:64]
            if not sku:
                continue
            try:
                quantity = int(raw)
            except ValueError as exc:
                raise forms.ValidationError(_("%(sku)s: quantity must be a whole number.") % {"sku": sku}) from exc
            if not 1 <= quantity <= MAX_LINE_QUANTITY:
                raise forms.ValidationError(
                    _("%(sku)s: quantity must be between 1 and %(max)s.")
                    % {"sku": sku, "max": f"{MAX_LINE_QUANTITY:,}"}
                )
            picked.append((sku, quantity, None))
        return picked


MAX_STATUS_POSITION = 1_000_000  # orders a few dozen statuses; far below the column's 2**31 - 1


class StatusForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=100)
    group = forms.ChoiceField(label=_("Group"), choices=Group.choices)
    color = forms.CharField(
        label=_("Color"), max_length=7, initial="#667085", widget=forms.TextInput(attrs={"type": "color"})
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=MAX_STATUS_POSITION, initial=100)
    is_active = forms.BooleanField(required=False, initial=True, label=_("Active"))
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=[("", _("— none —")), *StatusPurpose.choices],
        required=False,
        help_text=_("What the system does with it (packing, handover, returns ...), whatever its code."),
    )

    def clean_color(self):
        color = self.cleaned_data["color"]
        if len(color) != 7 or not color.startswith("#") or any(c not in "0123456789abcdefABCDEF" for c in color[1:]):
            raise forms.ValidationError(_("Use a colour like #1a2b3c."))
        return color


class CustomerForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("Email"), max_length=200, required=False)  # a contact holds 200
    address = forms.CharField(label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Comma-separated, e.g. VIP, BAD"))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_tags(self):
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class PaymentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PaymentKind.choices, initial=PaymentKind.PAYMENT)
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    method = forms.CharField(label=_("Method"), max_length=60, initial="card")
    external_id = forms.CharField(max_length=100, required=False, label=_("Reference"))

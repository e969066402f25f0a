"""Forms of the inventory screens: they parse and check input; the services in services.py write."""

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Warehouse
from .services import MAX_PRICE, MAX_UNITS

MAX_IMPORT_BYTES = 2 * 1024 * 1024

no_spaces = RegexValidator(r"^\S+$", _("Use letters, digits and dashes, without spaces."))


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64, validators=[no_spaces])
    name = forms.CharField(label=_("Name"), max_length=255)
    price = forms.DecimalField(
        label=_("Price"), max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_PRICE
    )
    barcode = forms.CharField(
        label=_("Barcode"), max_length=64, required=False, validators=[no_spaces], help_text=_("EAN-13 or Code128")
    )
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    cost_price = forms.DecimalField(
        label=_("Cost price"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MAX_PRICE,
        required=False,
        help_text=_("What a unit costs you (for margins)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].widget.attrs.update(step="0.01", inputmode="decimal")
        self.fields["sku"].widget.attrs.update(autocomplete="off", autocapitalize="characters")
        self.fields["barcode"].widget.attrs.update(autocomplete="off", inputmode="numeric")


class ProductEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    price = forms.DecimalField(
        label=_("Price"), max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_PRICE
    )
    barcode = forms.CharField(label=_("Barcode"), max_length=64, required=False, validators=[no_spaces])
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    cost_price = forms.DecimalField(
        label=_("Cost price"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MAX_PRICE,
        required=False,
        help_text=_("What a unit costs you (for margins)."),
    )
    is_active = forms.BooleanField(label=_("Active (can be ordered)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].widget.attrs.update(step="0.01", inputmode="decimal")

    @classmethod
    def for_product(cls, product, **kwargs):
        initial = {
            "name": product.name,
            "price": product.price,
            "barcode": product.barcode,
            "category": product.category,
            "cost_price": product.cost_price,
        }
        return cls(initial={**initial, "is_active": product.is_active}, **kwargs)


class _StockForm(forms.Form):
    """A stock change in one of the tenant's warehouses; foreign warehouse ids are not valid choices.

    `warehouses` (the tenant's, already loaded) lets a page render three of these forms with one query.
    """

    warehouse = forms.TypedChoiceField(label=_("Warehouse"), coerce=int)
    include_inactive = False

    def __init__(self, *args, tenant, warehouses=None, **kwargs):
        super().__init__(*args, **kwargs)
        if warehouses is None:
            warehouses = selectors.warehouses(tenant=tenant)
        self.warehouses = {w.pk: w for w in warehouses if w.is_active or self.include_inactive}
        self.fields["warehouse"].choices = [(pk, str(w)) for pk, w in self.warehouses.items()]

    def clean_warehouse(self):
        return self.warehouses[self.cleaned_data["warehouse"]]


class ReceiptForm(_StockForm):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_UNITS)
    reason = forms.CharField(label=_("Note"), max_length=255, required=False, help_text=_("Supplier, delivery note …"))


class WriteOffForm(_StockForm):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_UNITS)
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Damaged, lost, expired …"))


class AdjustForm(_StockForm):
    counted = forms.IntegerField(label=_("Counted on hand"), min_value=0, max_value=MAX_UNITS)
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Stock-take, found units …"))
    include_inactive = True  # a count may correct a warehouse that was switched off since


class ReorderPointForm(_StockForm):
    minimum = forms.IntegerField(
        label=_("Minimum"),
        min_value=0,
        max_value=MAX_UNITS,
        required=False,
        help_text=_("Alert and list to reorder below this; empty: off."),
    )
    quantity = forms.IntegerField(
        label=_("Reorder quantity"), min_value=1, max_value=MAX_UNITS, required=False, help_text=_("Ordered at a time.")
    )
    include_inactive = True


class WarehouseForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32, validators=[no_spaces], help_text=_("Short and unique, e.g. MAIN")
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    priority = forms.IntegerField(
        label=_("Priority"), min_value=0, max_value=1_000_000, initial=100, help_text=_("Lower is reserved first.")
    )


class WarehouseEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    priority = forms.IntegerField(
        label=_("Priority"), min_value=0, max_value=1_000_000, help_text=_("Lower is reserved first.")
    )
    is_active = forms.BooleanField(label=_("Active (stock here can be reserved)"), required=False)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("Columns: sku, name, price, barcode, and optionally warehouse, quantity.")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is %(size).1f MB; the limit is %(limit)d MB. Split it into smaller files.")
                % {"size": upload.size / 1024 / 1024, "limit": MAX_IMPORT_BYTES // 1024 // 1024}
            )
        raw = upload.read(MAX_IMPORT_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from exc
        if "\x00" in text:
            raise forms.ValidationError(
                _("The file contains NUL characters, which no field accepts. Save it as “CSV UTF-8” and try again.")
            )
        return text


class ImportConfirmForm(forms.Form):
    digest = forms.CharField(label=_("Digest"), max_length=64, widget=forms.HiddenInput)


class PurchaseOrderForm(forms.Form):
    supplier = forms.CharField(label=_("Supplier"), max_length=200)
    warehouse = forms.ChoiceField(
        label=_("Warehouse"),
    )
    expected_at = forms.DateField(
        required=False, label=_("Expected on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    lines = forms.CharField(
        label=_("Lines"),
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("One line per product: SKU quantity [cost]\nTEA-01 24 2.50")}
        ),
        help_text=_("One line per product: SKU, quantity and optionally the unit cost, separated by spaces."),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [
            (w.code, f"{w.code} · {w.name}") for w in Warehouse.objects.filter(tenant=tenant, is_active=True)
        ]

    def clean_lines(self):
        return parse_stock_lines(self.cleaned_data["lines"], with_cost=True)


def parse_stock_lines(text: str, *, with_cost: bool) -> list[tuple]:
    """Lines typed as "SKU quantity" (and an optional unit cost): (sku, quantity[, cost]) each."""
    parsed = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        try:
            quantity = int(parts[1]) if len(parts) > 1 else 0
            cost = Decimal(parts[2].replace(",", ".")) if len(parts) > 2 else None
        except (ValueError, ArithmeticError):
            quantity, cost = 0, Decimal("-1")
        if (
            len(parts) > (3 if with_cost else 2)
            or not 1 <= quantity <= 1_000_000
            or (cost is not None and (not cost.is_finite() or cost < 0))
        ):
            if with_cost:
                message = _("Line %(number)d: write SKU, a quantity from 1 and an optional cost.")
            else:
                message = _("Line %(number)d: write SKU and a quantity from 1.")
            raise forms.ValidationError(message % {"number": number})
        parsed.append((parts[0], quantity, cost) if with_cost else (parts[0], quantity))
    if not parsed:
        raise forms.ValidationError(_("Add at least one line."))
    return parsed


class TransferForm(forms.Form):
    from_warehouse = forms.ChoiceField(label=_("From"))
    to_warehouse = forms.ChoiceField(label=_("To"))
    expected_at = forms.DateField(required=False, label=_("Arrives on"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    lines = forms.CharField(
        label=_("Lines"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("One line per product: SKU quantity\nTEA-01 24")}),
        help_text=_("One line per product: SKU and quantity, separated by a space."),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(w.code, f"{w.code} · {w.name}") for w in Warehouse.objects.filter(tenant=tenant, is_active=True)]
        self.fields["from_warehouse"].choices = self.fields["to_warehouse"].choices = choices

    def clean_lines(self):
        return parse_stock_lines(self.cleaned_data["lines"], with_cost=False)

    def clean(self):
        data = super().clean()
        if data.get("from_warehouse") and data.get("from_warehouse") == data.get("to_warehouse"):
            self.add_error("to_warehouse", _("Choose a different warehouse to send to."))
        return data


class ScanForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64, strip=True)

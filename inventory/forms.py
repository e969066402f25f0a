"""Forms of the inventory screens: they parse and check input; the services in services.py write."""

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator

from . import selectors
from .services import MAX_PRICE, MAX_UNITS

MAX_IMPORT_BYTES = 2 * 1024 * 1024

no_spaces = RegexValidator(r"^\S+$", "Use letters, digits and dashes, without spaces.")


class ProductForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64, validators=[no_spaces])
    name = forms.CharField(max_length=255)
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_PRICE)
    barcode = forms.CharField(max_length=64, required=False, validators=[no_spaces], help_text="EAN-13 or Code128")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].widget.attrs.update(step="0.01", inputmode="decimal")
        self.fields["sku"].widget.attrs.update(autocomplete="off", autocapitalize="characters")
        self.fields["barcode"].widget.attrs.update(autocomplete="off", inputmode="numeric")


class ProductEditForm(forms.Form):
    name = forms.CharField(max_length=255)
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_PRICE)
    barcode = forms.CharField(max_length=64, required=False, validators=[no_spaces])
    is_active = forms.BooleanField(label="Active (can be ordered)", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].widget.attrs.update(step="0.01", inputmode="decimal")

    @classmethod
    def for_product(cls, product, **kwargs):
        initial = {"name": product.name, "price": product.price, "barcode": product.barcode}
        return cls(initial={**initial, "is_active": product.is_active}, **kwargs)


class _StockForm(forms.Form):
    """A stock change in one of the tenant's warehouses; foreign warehouse ids are not valid choices.

    `warehouses` (the tenant's, already loaded) lets a page render three of these forms with one query.
    """

    warehouse = forms.TypedChoiceField(coerce=int)
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
    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS)
    reason = forms.CharField(label="Note", max_length=255, required=False, help_text="Supplier, delivery note …")


class WriteOffForm(_StockForm):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS)
    reason = forms.CharField(max_length=255, help_text="Damaged, lost, expired …")


class AdjustForm(_StockForm):
    counted = forms.IntegerField(label="Counted on hand", min_value=0, max_value=MAX_UNITS)
    reason = forms.CharField(max_length=255, help_text="Stock-take, found units …")
    include_inactive = True  # a count may correct a warehouse that was switched off since


class WarehouseForm(forms.Form):
    code = forms.CharField(max_length=32, validators=[no_spaces], help_text="Short and unique, e.g. MAIN")
    name = forms.CharField(max_length=200)
    priority = forms.IntegerField(min_value=0, max_value=1_000_000, initial=100, help_text="Lower is reserved first.")


class WarehouseEditForm(forms.Form):
    name = forms.CharField(max_length=200)
    priority = forms.IntegerField(min_value=0, max_value=1_000_000, help_text="Lower is reserved first.")
    is_active = forms.BooleanField(label="Active (stock here can be reserved)", required=False)


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="Columns: sku, name, price, barcode, and optionally warehouse, quantity."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is {MAX_IMPORT_BYTES // 1024 // 1024} MB. "
                "Split it into smaller files."
            )
        raw = upload.read(MAX_IMPORT_BYTES + 1)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from exc


class ImportConfirmForm(forms.Form):
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)

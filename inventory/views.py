"""Inventory screens: catalogue, a product's stock and ledger, warehouses, CSV import.

Thin: check the role, parse with a form, call one service or selector, render. Stock forms post with htmx and
get the refreshed `stock` partial back; without htmx they redirect (or re-render with the errors).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms.pages import run_service
from oms.tenancy.roles import ADMIN, MANAGER, OWNER, SETTINGS, role_required
from oms.tenancy.shortcuts import get_for_tenant_or_404

from . import importing, reorder, selectors, services
from .forms import (
    AdjustForm,
    ImportConfirmForm,
    ImportForm,
    ProductEditForm,
    ProductForm,
    ReceiptForm,
    ReorderPointForm,
    WarehouseEditForm,
    WarehouseForm,
    WriteOffForm,
)
from .models import Product, Warehouse, WarehouseStaff

STOCK_ROLES = (OWNER, MANAGER, ADMIN)  # see the catalogue and change stock
PRODUCTS_PER_PAGE = 50
MOVES_PER_PAGE = 20
IMPORT_SESSION_KEY = "inventory_import"


# --- catalogue -----------------------------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@role_required(*STOCK_ROLES)
def product_list(request):
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.products(tenant=request.tenant, search=query), PRODUCTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "inventory/products.html#results" if request.htmx else "inventory/products.html",
        {"page": page, "query": query, "can_manage_warehouses": request.role in SETTINGS},
    )


@role_required(*STOCK_ROLES)
def product_create(request):
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, product = run_service(
            request,
            lambda actor: services.create_product(tenant=request.tenant, **form.cleaned_data),
            success=lambda product: gettext("Product %(sku)s created.") % {"sku": product.sku},
            form=form,
        )
        if ok:
            return redirect("inventory:product", pk=product.pk)
    return render(request, "inventory/product_new.html", {"form": form})


def _product_page(request, product, *, partial=None, **forms):
    """The product page, or only its `stock` partial for htmx; `forms` replace the blank forms (with errors)."""
    tenant = request.tenant
    warehouses = list(selectors.warehouses(tenant=tenant))
    context = {
        "product": product,
        "levels": list(selectors.stock_levels(tenant=tenant, product=product)),
        "moves": Paginator(selectors.ledger(tenant=tenant, product=product), MOVES_PER_PAGE).get_page(
            request.GET.get("page")
        ),
        "receipt_form": ReceiptForm(tenant=tenant, warehouses=warehouses, prefix="receipt"),
        "write_off_form": WriteOffForm(tenant=tenant, warehouses=warehouses, prefix="writeoff"),
        "adjust_form": AdjustForm(tenant=tenant, warehouses=warehouses, prefix="adjust"),
        "reorder_form": ReorderPointForm(tenant=tenant, warehouses=warehouses, prefix="reorder"),
        **forms,
    }
    context["totals"] = {
        key: sum(getattr(level, key) for level in context["levels"]) for key in ("on_hand", "reserved", "available")
    }
    if request.htmx if partial is None else partial:
        return render(request, "inventory/product_detail.html#stock", context)
    context.setdefault("edit_form", ProductEditForm.for_product(product, prefix="product"))
    return render(request, "inventory/product_detail.html", context)


@vary_on_headers("HX-Request")
@role_required(*STOCK_ROLES)
def product_detail(request, pk):
    product = get_for_tenant_or_404(Product, request.tenant, pk=pk)
    return _product_page(request, product)


@role_required(*STOCK_ROLES)
@require_POST
def product_update(request, pk):
    product = get_for_tenant_or_404(Product, request.tenant, pk=pk)
    form = ProductEditForm(request.POST, prefix="product")
    if form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: services.update_product(product=product, **form.cleaned_data),
            success=gettext("Product details saved."),
            form=form,
        )
        if ok:
            return redirect("inventory:product", pk=product.pk)
    product.refresh_from_db()  # the page shows what is stored, the form what was typed
    return _product_page(request, product, partial=False, edit_form=form)


def _stock_action(request, pk, *, form_class, prefix, context_name, act):
    """Run one stock service from a posted form; answer with the stock partial (htmx) or redirect."""
    product = get_for_tenant_or_404(Product, request.tenant, pk=pk)
    form = form_class(request.POST, tenant=request.tenant, prefix=prefix)
    if form.is_valid():
        ok, _ = run_service(
            request, lambda actor: act(product, form.cleaned_data), success=lambda notice: notice, form=form
        )
        if ok:
            if not request.htmx:
                return redirect(reverse("inventory:product", args=[product.pk]) + "#stock")
            form = None
    if form is None:
        return _product_page(request, product)
    return _product_page(request, product, **{context_name: form})


@role_required(*STOCK_ROLES)
@require_POST
def receive(request, pk):
    def act(product, data):
        services.receive(
            tenant=request.tenant,
            warehouse=data["warehouse"],
            lines=[(product, data["quantity"])],
            actor=request.user,
            reason=data["reason"],
        )
        return f"Received {data['quantity']} × {product.sku} into {data['warehouse'].code}."

    return _stock_action(request, pk, form_class=ReceiptForm, prefix="receipt", context_name="receipt_form", act=act)


@role_required(*STOCK_ROLES)
@require_POST
def reorder_point(request, pk):
    def act(product, data):
        reorder.set_reorder_point(
            tenant=request.tenant,
            product=product,
            warehouse=data["warehouse"],
            minimum=data["minimum"],
            quantity=data["quantity"],
        )
        if data["minimum"] is None:
            return f"No minimum for {product.sku} in {data['warehouse'].code} any more."
        return f"Minimum of {product.sku} in {data['warehouse'].code}: {data['minimum']}."

    return _stock_action(
        request, pk, form_class=ReorderPointForm, prefix="reorder", context_name="reorder_form", act=act
    )


@role_required(*STOCK_ROLES)
def to_reorder(request):
    """What is short against its minimum, by warehouse, with a purchase order drafted from it in one click."""
    rows = reorder.to_reorder(tenant=request.tenant)
    by_warehouse: dict = {}
    for row in rows:
        by_warehouse.setdefault(row.level.warehouse, []).append(row)
    groups = [
        {
            "warehouse": warehouse,
            "rows": items,
            "draft": reverse("inventory:purchase_new")
            + "?"
            + urlencode(
                {"warehouse": warehouse.code, "lines": "\n".join(f"{r.level.product.sku} {r.suggested}" for r in items)}
            ),
        }
        for warehouse, items in by_warehouse.items()
    ]
    return render(request, "inventory/reorder.html", {"groups": groups})


@role_required(*STOCK_ROLES)
@require_POST
def write_off(request, pk):
    def act(product, data):
        services.write_off(
            tenant=request.tenant,
            warehouse=data["warehouse"],
            product=product,
            quantity=data["quantity"],
            reason=data["reason"],
            actor=request.user,
        )
        return f"Wrote off {data['quantity']} × {product.sku} in {data['warehouse'].code}."

    return _stock_action(
        request, pk, form_class=WriteOffForm, prefix="writeoff", context_name="write_off_form", act=act
    )


@role_required(*STOCK_ROLES)
@require_POST
def adjust(request, pk):
    def act(product, data):
        move = services.adjust(
            tenant=request.tenant,
            warehouse=data["warehouse"],
            product=product,
            counted=data["counted"],
            reason=data["reason"],
            actor=request.user,
        )
        if move is None:
            return f"The count matches: {data['counted']} on hand in {data['warehouse'].code}, nothing changed."
        return f"On hand in {data['warehouse'].code} set to {data['counted']} ({move.quantity:+d})."

    return _stock_action(request, pk, form_class=AdjustForm, prefix="adjust", context_name="adjust_form", act=act)


# --- warehouses (settings) -----------------------------------------------------------------------------------


@role_required(*SETTINGS)
def warehouse_list(request):
    form = WarehouseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: services.create_warehouse(tenant=request.tenant, **form.cleaned_data),
            success=lambda warehouse: gettext("Warehouse %(code)s created.") % {"code": warehouse.code},
            form=form,
        )
        if ok:
            return redirect("inventory:warehouses")
    return render(
        request,
        "inventory/warehouses.html",
        {"warehouses": selectors.warehouses(tenant=request.tenant), "form": form},
    )


@role_required(*SETTINGS)
def warehouse_edit(request, pk):
    warehouse = get_for_tenant_or_404(Warehouse, request.tenant, pk=pk)
    initial = {"name": warehouse.name, "priority": warehouse.priority, "is_active": warehouse.is_active}
    form = WarehouseEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        chosen = [u for u in request.POST.getlist("packers") if u.isdecimal()]

        def save(actor):
            services.set_warehouse_staff(warehouse=warehouse, user_ids=chosen)
            return services.update_warehouse(warehouse=warehouse, **form.cleaned_data)

        ok, _ = run_service(
            request, save, success=lambda saved: gettext("Warehouse %(code)s saved.") % {"code": saved.code}, form=form
        )
        if ok:
            return redirect("inventory:warehouses")
    packers = selectors.packers(tenant=request.tenant)
    working_here = set(
        WarehouseStaff.objects.filter(tenant=request.tenant, warehouse=warehouse).values_list("user_id", flat=True)
    )
    context = {"warehouse": warehouse, "form": form, "packers": packers, "working_here": working_here}
    return render(request, "inventory/warehouse_edit.html", context)


# --- CSV import ------------------------------------------------------------------------------------------------


@role_required(*STOCK_ROLES)
def import_products(request):
    """Upload → preview of every row's problems. Nothing is written here; the file waits in the session."""
    form = ImportForm(request.POST or None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["file"]
        preview = importing.preview(tenant=request.tenant, text=text)
        request.session[IMPORT_SESSION_KEY] = {
            "text": text,
            "name": form.files["file"].name[:100],
            "digest": importing.digest(text),
            "tenant": request.tenant.pk,
        }
        form = ImportForm()
    elif request.method == "GET":
        request.session.pop(IMPORT_SESSION_KEY, None)
    return _import_page(request, form, preview)


def _import_page(request, form, preview, status=200):
    pending = request.session.get(IMPORT_SESSION_KEY)
    confirm_form = ImportConfirmForm(initial={"digest": pending["digest"]}) if preview and pending else None
    return render(
        request,
        "inventory/import.html",
        {"form": form, "preview": preview, "confirm_form": confirm_form, "file_name": (pending or {}).get("name")},
        status=status,
    )


@role_required(*STOCK_ROLES)
@require_POST
def import_confirm(request):
    pending = request.session.get(IMPORT_SESSION_KEY)
    confirm = ImportConfirmForm(request.POST)
    if (
        not pending
        or pending.get("tenant") != request.tenant.pk
        or not confirm.is_valid()
        or confirm.cleaned_data["digest"] != pending["digest"]
    ):
        messages.error(request, gettext("That import is no longer waiting for confirmation. Upload the file again."))
        return redirect("inventory:import")
    ok, outcome = run_service(
        request,
        lambda actor: importing.apply(
            tenant=request.tenant, text=pending["text"], actor=request.user, source=f"CSV import {pending['name']}"
        ),
        notify=False,  # said below, with what it means for the file
    )
    if not ok:
        messages.error(request, gettext("Nothing was imported: %(reason)s") % {"reason": outcome.message})
        return _import_page(request, ImportForm(), importing.preview(tenant=request.tenant, text=pending["text"]))
    preview, result = outcome
    if result is None:
        messages.error(
            request, gettext("Nothing was imported: the shop changed since the preview. Check the rows below.")
        )
        return _import_page(request, ImportForm(), preview)
    del request.session[IMPORT_SESSION_KEY]
    messages.success(
        request,
        gettext(
            "Imported %(name)s: %(created)s product(s) created, %(updated)s updated, "
            "%(units)s unit(s) received in %(receipts)s line(s)."
        )
        % {
            "name": pending["name"],
            "created": result.created,
            "updated": result.updated,
            "units": result.units,
            "receipts": result.receipts,
        },
    )
    return redirect("inventory:products")

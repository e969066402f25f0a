"""API: products, warehouses, stock receipts and stock query (API.md, "Catalogue and stock")."""

import datetime
from typing import Annotated, Literal

from ninja import Field, Router, Status

from oms.api import Error, InputSchema, IsoDate, Money, OutputSchema, paginate
from oms.idempotency import run_idempotent
from oms.tenancy.shortcuts import get_for_tenant_or_404

from . import purchasing, selectors, services
from .errors import UnknownProduct, UnknownWarehouse
from .models import Product, PurchaseOrder, PurchaseState, Warehouse

router = Router(tags=["catalogue and stock"])

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
Price = Annotated[Money, Field(ge=0, max_digits=12, decimal_places=2)]


class ProductIn(InputSchema):
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=255)]
    price: Price
    barcode: Annotated[str, Field(max_length=64)] | None = None


class ProductOut(OutputSchema):
    id: int
    sku: str
    name: str
    price: str
    barcode: str | None


class WarehouseIn(InputSchema):
    code: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^\S+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class WarehouseOut(OutputSchema):
    id: int
    code: str
    name: str


class ReceiptLine(InputSchema):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


class ReceiptIn(InputSchema):
    warehouse: Annotated[str, Field(min_length=1, max_length=32)]
    lines: Annotated[list[ReceiptLine], Field(min_length=1, max_length=1000)]


class ReceiptOut(OutputSchema):
    warehouse: str
    lines: list[ReceiptLine]


class StockRow(OutputSchema):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int
    incoming: int
    expected_at: datetime.date | None


class PurchaseLineIn(InputSchema):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    cost: Price | None = None


class PurchaseOrderIn(InputSchema):
    supplier: Annotated[str, Field(min_length=1, max_length=200)]
    warehouse: Annotated[str, Field(min_length=1, max_length=32)]
    expected_at: IsoDate | None = None
    lines: Annotated[list[PurchaseLineIn], Field(min_length=1, max_length=1000)]


class PurchaseLineOut(OutputSchema):
    sku: str
    quantity: int
    received: int
    cost: str | None


class PurchaseOrderOut(OutputSchema):
    id: int
    number: str
    supplier: str
    warehouse: str
    state: Literal["ordered", "partially_received", "received", "cancelled"]
    expected_at: datetime.date | None
    lines: list[PurchaseLineOut]


class PurchaseOrderList(OutputSchema):
    results: list[PurchaseOrderOut]
    count: int
    next: str | None


class ReceiveIn(InputSchema):
    lines: Annotated[list[ReceiptLine], Field(min_length=1, max_length=1000)]


class ProductList(OutputSchema):
    results: list[ProductOut]
    count: int
    next: str | None


class StockList(OutputSchema):
    results: list[StockRow]
    count: int
    next: str | None


def product_out(product: Product) -> dict:
    return {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "price": f"{product.price:.2f}",
        "barcode": product.barcode or None,
    }


@router.post("/products", response={201: ProductOut, 409: Error, 422: Error})
def create_product(request, payload: ProductIn):
    product = services.create_product(
        tenant=request.tenant,
        sku=payload.sku,
        name=payload.name,
        price=payload.price,
        barcode=payload.barcode or "",
    )
    return Status(201, product_out(product))


@router.get("/products", response={200: ProductList, 422: Error})
def list_products(request, sku: str | None = None):
    queryset = Product.objects.filter(tenant=request.tenant).order_by("sku", "pk")
    if sku:
        queryset = queryset.filter(sku=sku)
    return paginate(request, queryset, product_out)


@router.post("/warehouses", response={201: WarehouseOut, 409: Error, 422: Error})
def create_warehouse(request, payload: WarehouseIn):
    warehouse = services.create_warehouse(tenant=request.tenant, code=payload.code, name=payload.name)
    return Status(201, {"id": warehouse.pk, "code": warehouse.code, "name": warehouse.name})


@router.post("/stock/receipts", response={201: ReceiptOut, 422: Error})
def receive_stock(request, payload: ReceiptIn):
    warehouse = Warehouse.objects.filter(tenant=request.tenant, code=payload.warehouse).first()
    if warehouse is None:
        raise UnknownWarehouse(f"Unknown warehouse '{payload.warehouse}'.", details={"warehouse": payload.warehouse})
    skus = {line.sku for line in payload.lines}
    products = {p.sku: p for p in Product.objects.filter(tenant=request.tenant, sku__in=skus)}
    unknown = sorted(skus - products.keys())
    if unknown:
        raise UnknownProduct(f"Unknown SKU: {', '.join(unknown)}.", details={"skus": unknown})
    services.receive(
        tenant=request.tenant,
        warehouse=warehouse,
        lines=[(products[line.sku], line.quantity) for line in payload.lines],
        reason="API receipt",
    )
    return Status(201, {"warehouse": warehouse.code, "lines": [line.model_dump() for line in payload.lines]})


@router.get("/stock", response={200: StockList, 422: Error})
def stock(request, sku: str | None = None):
    levels = selectors.stock_levels(tenant=request.tenant, sku=sku or "")
    expected = purchasing.incoming(tenant=request.tenant, product_ids=levels.values_list("product_id", flat=True))
    return paginate(
        request,
        levels,
        lambda lv: {
            "sku": lv.product.sku,
            "warehouse": lv.warehouse.code,
            "on_hand": lv.on_hand,
            "reserved": lv.reserved,
            "available": lv.available,
            "incoming": expected.get(lv.product_id, (0, None))[0],
            "expected_at": expected.get(lv.product_id, (0, None))[1],
        },
    )


def purchase_order_out(order: PurchaseOrder) -> dict:
    return {
        "id": order.pk,
        "number": order.number,
        "supplier": order.supplier.name,
        "warehouse": order.warehouse.code,
        "state": order.state,
        "expected_at": order.expected_at,
        "lines": [
            {
                "sku": ln.product.sku,
                "quantity": ln.quantity,
                "received": ln.received,
                "cost": None if ln.cost is None else f"{ln.cost:.2f}",
            }
            for ln in order.lines.with_products().order_by("pk")
        ],
    }


def _purchase_order(request, purchase_order_id: int) -> PurchaseOrder:
    return get_for_tenant_or_404(
        PurchaseOrder.objects.select_related("supplier", "warehouse"), request.tenant, pk=purchase_order_id
    )


@router.post("/purchase-orders", response={201: PurchaseOrderOut, 409: Error, 422: Error})
def create_purchase_order(request, payload: PurchaseOrderIn):
    def produce():
        order = purchasing.create_purchase_order(
            tenant=request.tenant,
            supplier=payload.supplier,
            warehouse_code=payload.warehouse,
            expected_at=payload.expected_at,
            lines=[purchasing.PurchaseLine(ln.sku, ln.quantity, ln.cost) for ln in payload.lines],
        )
        return 201, purchase_order_out(_purchase_order(request, order.pk))

    status, body = run_idempotent(request=request, scope="purchase-orders.create", produce=produce)
    return Status(status, body)


@router.get("/purchase-orders", response={200: PurchaseOrderList, 422: Error})
def list_purchase_orders(request, state: PurchaseState | None = None):
    queryset = PurchaseOrder.objects.filter(tenant=request.tenant).select_related("supplier", "warehouse")
    if state:
        queryset = queryset.filter(state=state)
    return paginate(request, queryset.order_by("-created_at", "-pk"), purchase_order_out)


@router.get("/purchase-orders/{purchase_order_id}", response={200: PurchaseOrderOut, 404: Error})
def get_purchase_order(request, purchase_order_id: int):
    return purchase_order_out(_purchase_order(request, purchase_order_id))


@router.post(
    "/purchase-orders/{purchase_order_id}/receive", response={200: PurchaseOrderOut, 404: Error, 409: Error, 422: Error}
)
def receive_purchase_order(request, purchase_order_id: int, payload: ReceiveIn):
    order = _purchase_order(request, purchase_order_id)
    purchasing.receive_purchase_order(order=order, lines=[(ln.sku, ln.quantity) for ln in payload.lines])
    return purchase_order_out(_purchase_order(request, order.pk))

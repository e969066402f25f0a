"""API: orders (API.md, "Orders")."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from django.http import Http404
from ninja import Field, Router, Status

from oms.actors import Actor
from oms.api import LOWER_BOUND_COUNT, Error, InputSchema, Money, OutputSchema, paginate
from oms.idempotency import run_idempotent
from oms.tenancy.shortcuts import get_for_tenant_or_404

from . import panels, selectors
from .errors import InvalidOrder
from .models import Group, Order, OrderLine, Payment
from .services import families, intake, payments, reservations, statuses

router = Router(tags=["orders"])

Text = Annotated[str, Field(max_length=500)]
Price = Annotated[Money, Field(ge=0, max_digits=12, decimal_places=2)]


class CustomerIn(InputSchema):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=40)] | None = None
    email: Annotated[str, Field(max_length=200)] | None = None


class DeliveryIn(InputSchema):
    method: Annotated[str, Field(max_length=60)] | None = None
    address: Annotated[str, Field(max_length=1000)] | None = None


class PaymentIn(InputSchema):
    method: Annotated[str, Field(max_length=60)] | None = None
    status: Literal["unpaid", "paid"] | None = None


class LineIn(InputSchema):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    price: Price | None = None


class OrderIn(InputSchema):
    external_id: Annotated[str, Field(max_length=100)] | None = None
    channel: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[\w.-]+$")] | None = None
    customer: CustomerIn
    delivery: DeliveryIn | None = None
    payment: PaymentIn | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=500)]
    comment: Annotated[str, Field(max_length=5000)] | None = None


class StatusOut(OutputSchema):
    code: str
    name: str
    group: Literal["new", "approval", "assembly", "delivery", "complete", "cancel"]


class CustomerOut(OutputSchema):
    id: int
    name: str
    phone: str
    email: str


class LineOut(OutputSchema):
    id: int
    sku: str
    quantity: int
    price: str
    reserved: int


class PaymentOut(OutputSchema):
    method: str
    status: Literal["unpaid", "partially_paid", "paid", "refunded"]
    paid: str
    due: str


class PaymentRecordIn(InputSchema):
    amount: Money  # its bounds are the service's (payments.parse_amount), which the pages share
    method: Annotated[str, Field(min_length=1, max_length=60, examples=["card"])]
    kind: Literal["payment", "refund"] = "payment"
    external_id: Annotated[str, Field(max_length=100)] | None = None


class PaymentRecordOut(OutputSchema):
    id: int
    amount: str
    method: str
    kind: Literal["payment", "refund"]
    external_id: str
    created_at: datetime


class PaymentList(OutputSchema):
    results: list[PaymentRecordOut]
    count: int
    next: str | None


class DeliveryOut(OutputSchema):
    method: str
    address: str


class OrderOut(OutputSchema):
    id: int
    number: str
    parent_id: int | None
    root_id: int
    channel: str
    external_id: str
    status: StatusOut
    customer: CustomerOut
    lines: list[LineOut]
    total: str
    payment: PaymentOut
    delivery: DeliveryOut
    tracking_url: str | None
    created_at: datetime
    updated_at: datetime


class OrderList(OutputSchema):
    results: list[OrderOut]
    count: int = Field(description=LOWER_BOUND_COUNT)  # a shop's orders are too many to count on every page
    next: str | None


class TransitionIn(InputSchema):
    to: Annotated[str, Field(min_length=1, max_length=50)]


class SplitIn(InputSchema):
    mode: Literal["unavailable", "copy"]
    lines: list[int] | None = None


class HistoryEntry(OutputSchema):
    at: datetime
    actor: str
    kind: str
    changes: dict


class HistoryOut(OutputSchema):
    results: list[HistoryEntry]


def parse_aware(value: str | None) -> datetime | None:
    """An ISO 8601 time with its offset; anything else is refused rather than guessed."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC)  # 9999-12-31T23:59-23:59 lies past the calendar's end: refused here
        except OverflowError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise InvalidOrder("updated_since must be an ISO 8601 time with offset, e.g. 2026-01-31T10:00:00+00:00.")
    return parsed


def order_out(order: Order, lines=None) -> dict:
    """The contract's order; `lines` (with their products) when the caller has them, else order.lines.all()."""
    return {
        "id": order.pk,
        "number": order.number,
        "parent_id": order.parent_id,
        "root_id": order.root_id or order.pk,
        "channel": order.channel,
        "external_id": order.external_id,
        "status": {"code": order.status.code, "name": order.status.name, "group": order.status.group},
        "customer": {
            "id": order.customer.pk,
            "name": order.customer.name,
            "phone": order.customer.phone,
            "email": order.customer.email,
        },
        "lines": [
            {
                "id": ln.pk,
                "sku": ln.product.sku,
                "quantity": ln.quantity,
                "price": f"{ln.price:.2f}",
                "reserved": ln.reserved,
            }
            for ln in (order.lines.all() if lines is None else lines)
        ],
        "total": f"{order.total:.2f}",
        "payment": {
            "method": order.payment_method,
            "status": order.payment_status,
            "paid": f"{order.paid:.2f}",
            "due": f"{order.due:.2f}",
        },
        "delivery": {"method": order.delivery_method, "address": order.delivery_address},
        "tracking_url": panels.public_link(order),
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def _fresh(request, order_id: int) -> dict:
    return order_out(selectors.order_detail_queryset(tenant=request.tenant).get(pk=order_id))


def _get(request, order_id: int) -> Order:
    return get_for_tenant_or_404(Order, request.tenant, pk=order_id)


def _input(payload: OrderIn) -> intake.OrderInput:
    delivery, payment = payload.delivery or DeliveryIn(), payload.payment or PaymentIn()
    return intake.OrderInput(
        customer_name=payload.customer.name,
        customer_phone=payload.customer.phone or "",
        customer_email=payload.customer.email or "",
        channel=payload.channel or "web",
        external_id=payload.external_id or "",
        delivery_method=delivery.method or "",
        delivery_address=delivery.address or "",
        payment_method=payment.method or "",
        payment_status=payment.status or "unpaid",
        comment=payload.comment or "",
        lines=[intake.LineInput(sku=ln.sku, quantity=ln.quantity, price=ln.price) for ln in payload.lines],
    )


@router.post("/orders", response={201: OrderOut, 409: Error, 422: Error})
def create_order(request, payload: OrderIn):
    def produce():
        order = intake.create_order(tenant=request.tenant, data=_input(payload), actor=Actor.api(request.api_token))
        return 201, order_out(order, order.fresh_lines)  # as created: all of it is in memory, nothing to read back

    status, body = run_idempotent(request=request, scope="orders.create", produce=produce)
    return Status(status, body)


@router.get("/orders", response={200: OrderList, 422: Error})
def list_orders(
    request,
    status: str | None = None,
    group: Group | None = None,
    updated_since: Annotated[str, Field(max_length=40, examples=["2026-01-31T10:00:00+00:00"])] | None = None,
    root_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None,
):
    filters = {"status": status, "group": group, "updated_since": parse_aware(updated_since), "root_id": root_id}
    queryset = selectors.orders_for_list(tenant=request.tenant, filters=filters).prefetch_related("lines__product")
    return paginate(request, queryset.order_by("-created_at", "-pk"), order_out, count_all=False)


@router.get("/orders/{order_id}", response={200: OrderOut, 404: Error})
def get_order(request, order_id: int):
    return _fresh(request, _get(request, order_id).pk)


@router.post("/orders/{order_id}/transition", response={200: OrderOut, 404: Error, 409: Error, 422: Error})
def transition(request, order_id: int, payload: TransitionIn):
    try:
        statuses.change_status_by_id(
            tenant=request.tenant, order_id=order_id, to_code=payload.to, actor=Actor.api(request.api_token)
        )
    except Order.DoesNotExist as exc:
        raise Http404 from exc
    return _fresh(request, order_id)


@router.post("/orders/{order_id}/reserve", response={200: OrderOut, 404: Error, 409: Error})
def reserve(request, order_id: int):
    try:
        order = reservations.reserve_order_by_id(
            tenant_id=request.tenant.pk, order_id=order_id, actor=Actor.api(request.api_token)
        )
    except Order.DoesNotExist as exc:
        raise Http404 from exc
    return order_out(order, order.fresh_lines)  # the order as reserved, all of it in memory


@router.post("/orders/{order_id}/split", response={201: OrderOut, 404: Error, 409: Error, 422: Error})
def split(request, order_id: int, payload: SplitIn):
    order = _get(request, order_id)
    actor = Actor.api(request.api_token)
    if payload.mode == "unavailable":
        child = families.split_unavailable(order=order, actor=actor)
    else:
        if payload.lines is not None and not OrderLine.objects.filter(order=order, pk__in=payload.lines).exists():
            raise InvalidOrder("None of the given lines belong to this order.")
        child = families.copy_order(order=order, actor=actor, line_ids=payload.lines)
    return Status(201, _fresh(request, child.pk))


@router.get("/orders/{order_id}/history", response={200: HistoryOut, 404: Error})
def history(request, order_id: int):
    order = _get(request, order_id)
    return {
        "results": [
            {"at": entry.at.isoformat(), "actor": entry.who, "kind": entry.kind, "changes": entry.changes}
            for entry in selectors.timeline(order=order)
        ]
    }


def payment_out(payment: Payment) -> dict:
    return {
        "id": payment.pk,
        "amount": f"{payment.amount:.2f}",
        "method": payment.method,
        "kind": payment.kind,
        "external_id": payment.external_id,
        "created_at": payment.created_at.isoformat(),
    }


@router.post("/orders/{order_id}/payments", response={201: PaymentRecordOut, 404: Error, 409: Error, 422: Error})
def add_payment(request, order_id: int, payload: PaymentRecordIn):
    order = _get(request, order_id)

    def produce():
        payment = payments.record_payment(
            order=order,
            amount=payload.amount,
            method=payload.method,
            kind=payload.kind,
            external_id=payload.external_id or "",
            actor=Actor.api(request.api_token),
        )
        return 201, payment_out(payment)

    status, body = run_idempotent(request=request, scope=f"orders.payments.{order.pk}", produce=produce)
    return Status(status, body)


@router.get("/orders/{order_id}/payments", response={200: PaymentList, 404: Error, 422: Error})
def list_payments(request, order_id: int):
    order = _get(request, order_id)
    return paginate(request, order.payments.order_by("created_at", "pk"), payment_out)

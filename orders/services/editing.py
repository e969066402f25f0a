"""Editing an order: its fields (with field-level rights) and its lines (while its group allows)."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from inventory import services as stock
from inventory.models import Product
from oms.actors import Actor
from oms.models import Role

from .. import locks
from ..errors import EditNotAllowed, FieldNotAllowed, InvalidOrder
from ..models import ActivityKind, Group, Order, OrderLine
from .activity import log_activity, recompute_total, touch
from .amounts import check_line
from .payments import refresh_payment_state

EDITABLE_FIELDS = {
    "delivery_method",
    "delivery_address",
    "payment_method",
    "comment",
    "manager_id",
    "tags",
}
# Contact data and money: never editable by warehouse or delivery staff, whatever the request says.
PROTECTED_FIELDS = {"delivery_address", "payment_method"}
FIELD_RESTRICTED_ROLES = {Role.PACKER, Role.COURIER}
LINE_EDIT_GROUPS = (Group.NEW, Group.APPROVAL)


def _check_field_rights(actor: Actor, fields) -> None:
    """Packers and couriers never change order fields (addresses, payment, prices), even by a crafted POST."""
    if actor.role in FIELD_RESTRICTED_ROLES:
        named = sorted(set(fields) & PROTECTED_FIELDS) or sorted(fields)
        raise FieldNotAllowed(gettext("Your role cannot change %(fields)s.") % {"fields": ", ".join(named)})


@transaction.atomic
def update_order_fields(*, order: Order, changes: dict, actor: Actor) -> Order:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise FieldNotAllowed(
            gettext("These fields cannot be edited here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    _check_field_rights(actor, changes)
    order = locks.lock_order(order)
    diff = {}
    for name, value in changes.items():
        old = getattr(order, name)
        if old != value:
            diff[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(order, name, value)
    if not diff:
        return order
    touch(order, *[n for n in changes if n in diff])
    log_activity(order=order, kind=ActivityKind.FIELDS, actor=actor, changes=diff)
    return order


def _lock_editable(order: Order, actor: Actor) -> Order:
    if actor.role in FIELD_RESTRICTED_ROLES:
        raise FieldNotAllowed(gettext("Your role cannot change order lines."))
    order = locks.lock_order(order)
    if order.group not in LINE_EDIT_GROUPS:
        raise EditNotAllowed(
            gettext("Lines cannot be changed once the order is in group '%(group)s'.") % {"group": order.group}
        )
    return order


def _lock_line(line: OrderLine, order: Order) -> OrderLine:
    locked = locks.lock_line(line, order=order)
    if locked is None:  # removed or split off while the page showed it
        raise EditNotAllowed(gettext("This line is no longer on the order; reload the order and try again."))
    return locked


@transaction.atomic
def add_line(*, order: Order, product: Product, quantity: int, price: Decimal | None, actor: Actor) -> OrderLine:
    order = _lock_editable(order, actor)
    price = product.price if price is None else price
    check_line(quantity=quantity, price=price, sku=product.sku)
    line = OrderLine.objects.create(
        tenant_id=order.tenant_id, order=order, product=product, quantity=quantity, price=price, cost=product.cost_price
    )
    _lines_changed(
        order, actor, ActivityKind.LINE_ADDED, {"sku": product.sku, "quantity": quantity, "price": str(price)}
    )
    return line


MAX_CHARGE = Decimal("9999999999.99")


def _charge(value, label: str) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
    except ArithmeticError:
        amount = Decimal("-1")
    if not (Decimal("0") <= amount <= MAX_CHARGE):
        raise InvalidOrder(
            gettext("%(label)s must be an amount of zero or more.") % {"label": label},
            field=label.lower().replace(" ", "_"),
        )
    return amount


@transaction.atomic
def set_charges(*, order: Order, delivery_cost, discount, actor: Actor) -> Order:
    """The order's delivery cost and discount, parts of its total; while its lines may still change."""
    delivery_cost, discount = _charge(delivery_cost, "Delivery cost"), _charge(discount, "Discount")
    order = _lock_editable(order, actor)
    diff = {
        name: [str(getattr(order, name)), str(value)]
        for name, value in (("delivery_cost", delivery_cost), ("discount", discount))
        if getattr(order, name) != value
    }
    if not diff:
        return order
    order.delivery_cost, order.discount = delivery_cost, discount
    recompute_total(order)
    touch(order, "delivery_cost", "discount", "total")
    log_activity(order=order, kind=ActivityKind.FIELDS, actor=actor, changes=diff)
    refresh_payment_state(order=order)
    return order


@transaction.atomic
def update_line(
    *,
    line: OrderLine,
    quantity: int,
    price: Decimal,
    actor: Actor,
    discount: Decimal | None = None,
    shown_quantity: int | None = None,
) -> OrderLine:
    """`shown_quantity`: the line's quantity where the change was typed; refused when the line has changed since."""
    order = _lock_editable(line.order, actor)
    line = _lock_line(line, order)
    if shown_quantity is not None and shown_quantity != line.quantity:  # split off or edited meanwhile
        raise EditNotAllowed(
            gettext("Line %(sku)s now has %(quantity)s unit(s): the order changed meanwhile. Check it and try again.")
            % {"sku": line.product.sku, "quantity": line.quantity}
        )
    check_line(quantity=quantity, price=price, sku=line.product.sku)
    discount = line.discount if discount is None else _charge(discount, "Discount")
    if quantity < line.reserved:  # give back what the smaller line no longer needs
        excess = line.reserved - quantity
        released = stock.release(tenant=order.tenant, line_ids=[line.pk], quantity_by_line={line.pk: excess})
        line.reserved -= released.get(line.pk, 0)
    diff = {"sku": line.product.sku}
    if line.quantity != quantity:
        diff["quantity"] = [line.quantity, quantity]
    if line.price != price:
        diff["price"] = [str(line.price), str(price)]
    if line.discount != discount:
        diff["discount"] = [str(line.discount), str(discount)]
    line.quantity, line.price, line.discount = quantity, price, discount
    line.save(update_fields=["quantity", "price", "discount"])  # `reserved` follows inventory (line_reserved.sql)
    if len(diff) > 1:
        _lines_changed(order, actor, ActivityKind.LINE_CHANGED, diff)
    return line


@transaction.atomic
def remove_line(*, line: OrderLine, actor: Actor) -> Order:
    order = _lock_editable(line.order, actor)
    line = _lock_line(line, order)
    if order.lines.count() == 1:
        raise EditNotAllowed(gettext("An order keeps at least one line; cancel the order instead."))
    stock.forget_lines(tenant=order.tenant, line_ids=[line.pk])
    sku, quantity = line.product.sku, line.quantity
    line.delete()
    _lines_changed(order, actor, ActivityKind.LINE_REMOVED, {"sku": sku, "quantity": quantity})
    return order


def _lines_changed(order: Order, actor: Actor, kind: str, changes: dict) -> None:
    recompute_total(order)
    if order.packing_verified_at is not None:  # packed before (the order came back from assembly): not these lines
        order.packing_verified_at = None
        touch(order, "total", "packing_verified_at")
    else:
        touch(order, "total")
    log_activity(order=order, kind=kind, actor=actor, changes=changes)
    refresh_payment_state(order=order)  # a paid order with a new line is partially paid again


@transaction.atomic
def add_note(*, order: Order, text: str, actor: Actor) -> Order:
    text = text.strip()
    if not text:
        raise InvalidOrder(gettext("A note cannot be empty."), field="text")
    log_activity(order=order, kind=ActivityKind.NOTE, actor=actor, changes={"text": text[:2000]})
    return order


def record_shipment_fact(*, order: Order, fact: str, actor: Actor, details: dict | None = None, move_to=None) -> Order:
    """Set a fact the group invariants read (packing verified, handed over, delivered). Caller's transaction.
    With `move_to` (a status, the order row locked by the caller) the order also moves there, the fact written
    with the status in one update (`statuses.move_locked`, which the scan flows call without the matrix)."""
    if fact not in ("packing_verified_at", "handed_over_at", "delivered_at"):
        raise ValueError(fact)
    from django.utils import timezone

    setattr(order, fact, timezone.now())
    if move_to is None:
        touch(order, fact)
    log_activity(order=order, kind=ActivityKind.CUSTODY, actor=actor, changes={"fact": fact, **(details or {})})
    if move_to is not None:
        from .statuses import move_locked

        order = move_locked(order=order, target=move_to, actor=actor, skip_matrix=True, also=(fact,))
    return order

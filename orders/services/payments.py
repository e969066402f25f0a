"""An order's money: payments and refunds as rows, the paid amount and payment status derived from them.

Every write locks the order row first, so two refunds at once can never take back more than was paid, and the
same external id twice (a provider retrying) is one payment.
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.formats import number_format
from django.utils.translation import gettext

from oms.actors import Actor
from oms.db import RowsInsert, broken_constraint
from oms.event_catalogue import OrderPaymentChanged
from oms.events import record_event

from .. import locks
from ..errors import DuplicateExternalId, InvalidPayment, RefundExceedsPaid
from ..models import ActivityKind, Order, OrderActivity, Payment, PaymentKind, PaymentStatus
from .activity import activity_entry

CENT = Decimal("0.01")
_paid_field = Order._meta.get_field("paid")
# The largest sum of money a payment or an order's paid total may be: what numeric(14, 2) holds, 999,999,999,999.99.
MAX_AMOUNT = Decimal(10) ** (_paid_field.max_digits - _paid_field.decimal_places) - CENT
PREPAID = "prepaid"
MAX_METHOD = 60
MAX_EXTERNAL_ID = 100


def parse_amount(raw) -> Decimal:
    """A positive money amount with at most two decimals, else a clear error."""
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise InvalidPayment(gettext("Amount must be a number such as 10.00.")) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidPayment(gettext("Amount must be more than 0."))
    # the size first: quantizing a number as large as 1e29 is itself an error
    if amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        raise InvalidPayment(gettext("Amount must have at most two decimals and twelve digits."))
    return amount.quantize(CENT)


def derived_status(*, total: Decimal, payments: list[Payment]) -> tuple[Decimal, str]:
    """(net paid, status) per API.md: unpaid (nothing paid), partially paid, paid (paid ≥ total), refunded
    (something was paid and all of it refunded). Money moved to a split-off child is not a refund to anybody: such
    rows name the other order (a method a client may also write, "transfer", says nothing)."""
    paid = sum((p.signed_amount for p in payments), Decimal("0.00"))
    if paid > 0:
        return paid, PaymentStatus.PAID if paid >= total else PaymentStatus.PARTIALLY_PAID
    refunded = any(p.kind == PaymentKind.REFUND and p.moved_with_id is None for p in payments)
    return paid, PaymentStatus.REFUNDED if refunded else PaymentStatus.UNPAID


def refresh_payment_state(*, order: Order) -> str | None:
    """Recount a locked order's paid amount and status (after a payment, or after its total changed).

    Returns the previous status when the status changed (and records `order.payment_changed`), else None.
    """
    paid, status = derived_status(total=order.total, payments=list(order.payments.all()))
    before = order.payment_status
    if paid == order.paid and status == before:
        return None
    Order.objects.filter(pk=order.pk).update(paid=paid, payment_status=status)
    order.paid, order.payment_status = paid, status
    if status == before:
        return None
    _announce(order, before=before)
    return before


def _announce(order: Order, *, before: str) -> None:
    record_event(tenant=order.tenant, event=_payment_event(order, before=before))


def _payment_event(order: Order, *, before: str) -> OrderPaymentChanged:
    return OrderPaymentChanged(
        order_id=order.pk, number=order.number, from_status=before, to_status=order.payment_status
    )


def opening_state(total: Decimal) -> dict:
    """The paid amount and status of an order created paid (API.md: one payment of its total), for its INSERT."""
    paid, status = derived_status(total=total, payments=[Payment(kind=PaymentKind.PAYMENT, amount=total)])
    return {"paid": paid, "payment_status": status}


def record_opening_payment(
    *, order: Order, method: str, actor: Actor
) -> tuple[Payment, OrderActivity, OrderPaymentChanged]:
    """The payment of an order created paid, in the creating transaction: the order row went in with
    `opening_state`, so there is nothing to recount. The payment is written; its activity entry (unsaved) and its
    event are returned for intake to write with the order's own, one INSERT each. Without a method named, it was
    paid before the order reached the shop ("prepaid"). It has no external id, so no constraint a caller handles can
    refuse it: it is sent ahead of the transaction's next statement, and gets no id."""
    method = _clean_text(method, limit=MAX_METHOD, label="Method") or PREPAID
    payment = _payment_row(
        order=order,
        kind=PaymentKind.PAYMENT,
        amount=order.total,
        method=method,
        actor=actor,
        write=_send_payments_ahead,
    )
    return payment, _activity_of(payment, actor=actor), _payment_event(order, before=PaymentStatus.UNPAID)


def _clean_text(value: str, *, limit: int, label: str) -> str:
    value = (value or "").strip()
    if "\x00" in value or len(value) > limit:
        raise InvalidPayment(
            gettext("%(label)s must be at most %(limit)s characters.") % {"label": label, "limit": limit},
            field=label.lower().replace(" ", "_"),
        )
    return value


@transaction.atomic
def record_payment(
    *,
    order: Order,
    amount,
    method: str,
    actor: Actor,
    kind: str = PaymentKind.PAYMENT,
    external_id: str = "",
    moved_with: Order | None = None,
    locked: bool = False,
) -> Payment:
    """Add a payment or a refund to the order. A refund never takes back more than is paid, and a payment never
    brings what is paid past what the order's paid column holds (refused before anything is written)."""
    if kind not in PaymentKind.values:
        raise InvalidPayment(gettext("Kind must be 'payment' or 'refund'."), field="kind")
    amount = parse_amount(amount)
    method = _clean_text(method, limit=MAX_METHOD, label="Method")
    if not method:
        raise InvalidPayment(gettext("Say how it was paid (card, cash, bank transfer…)."), field="method")
    external_id = _clean_text(external_id, limit=MAX_EXTERNAL_ID, label="External id")
    if not locked:
        order = locks.lock_order(order)
    if external_id and Payment.objects.filter(order=order, external_id=external_id).exists():
        raise DuplicateExternalId(
            gettext("A payment with external id '%(external_id)s' is already recorded on this order.")
            % {"external_id": external_id},
            details={"external_id": external_id},
        )
    if kind == PaymentKind.PAYMENT and order.paid + amount > MAX_AMOUNT:
        raise InvalidPayment(
            gettext(
                "A payment of %(amount)s would bring what is paid on this order to %(paid)s, more than an order can "
                "hold (%(max_paid)s)."
            )
            % {
                "amount": number_format(amount, 2, force_grouping=True),
                "paid": number_format(order.paid + amount, 2, force_grouping=True),
                "max_paid": number_format(MAX_AMOUNT, 2, force_grouping=True),
            },
            details={"paid": f"{order.paid:.2f}", "amount": f"{amount:.2f}", "max_paid": f"{MAX_AMOUNT:.2f}"},
            field="amount",
        )
    if kind == PaymentKind.REFUND and amount > order.paid:
        raise RefundExceedsPaid(
            gettext("A refund of %(amount)s is more than the %(paid)s paid on this order.")
            % {"amount": number_format(amount, 2), "paid": number_format(order.paid, 2)},
            details={"paid": f"{order.paid:.2f}", "amount": f"{amount:.2f}"},
        )
    try:
        with transaction.atomic():
            payment = _payment_row(
                order=order,
                kind=kind,
                amount=amount,
                method=method,
                actor=actor,
                external_id=external_id,
                moved_with=moved_with,
            )
            _activity_of(payment, actor=actor).save(force_insert=True)
    except IntegrityError as exc:  # the order row is locked, so only a broken invariant can get here
        if broken_constraint(exc) == "payment_unique_external_id":
            raise DuplicateExternalId(
                gettext("A payment with external id '%(external_id)s' is already recorded.")
                % {"external_id": external_id}
            ) from exc
        raise
    refresh_payment_state(order=order)
    return payment


_write_payments = RowsInsert(Payment)
_send_payments_ahead = RowsInsert(Payment, unanswered=True)


def _payment_row(
    *,
    order: Order,
    kind: str,
    amount: Decimal,
    method: str,
    actor: Actor,
    external_id: str = "",
    moved_with=None,
    write=_write_payments,
) -> Payment:
    (payment,) = write(
        [
            Payment(
                tenant_id=order.tenant_id,
                order=order,
                kind=kind,
                method=method,
                amount=amount,
                external_id=external_id,
                moved_with=moved_with,
                created_by=actor.user if actor.user_id else None,
                created_by_label=actor.name,
            )
        ]
    )
    return payment


def _activity_of(payment: Payment, *, actor: Actor) -> OrderActivity:
    """The order's activity entry for a payment, unsaved."""
    return activity_entry(
        order=payment.order,
        kind=ActivityKind.PAYMENT,
        actor=actor,
        changes={
            "kind": payment.kind,
            "method": payment.method,
            "amount": f"{payment.amount:.2f}",
            "external_id": payment.external_id,
            **({"moved_with": payment.moved_with.number} if payment.moved_with_id else {}),
        },
    )


def record_refund(*, order: Order, amount, method: str, actor: Actor, external_id: str = "") -> Payment:
    return record_payment(
        order=order, amount=amount, method=method, actor=actor, kind=PaymentKind.REFUND, external_id=external_id
    )


def move_paid_share(*, parent: Order, child: Order, moved_value: Decimal, parent_total_before: Decimal, actor: Actor):
    """A split moves the moved lines' share of what was paid to the child (both orders locked by the caller)."""
    if parent.paid <= 0 or moved_value <= 0 or parent_total_before <= 0:
        return
    share = min(parent.paid, (parent.paid * moved_value / parent_total_before).quantize(CENT))
    if parent.paid >= parent_total_before:
        share = min(parent.paid, moved_value)  # fully paid: the child is fully paid too
    if share <= 0:
        return
    method = Payment.TRANSFER
    record_payment(
        order=parent, amount=share, method=method, kind=PaymentKind.REFUND, moved_with=child, actor=actor, locked=True
    )
    record_payment(order=child, amount=share, method=method, moved_with=parent, actor=actor, locked=True)

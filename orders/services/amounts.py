"""The bounds of an order's numbers: what a line may hold and what an order's total column can store.

Checked before anything is written, so a huge price or quantity is a clear refusal instead of a numeric overflow
from the database halfway through a write.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.utils.translation import gettext

from inventory.errors import InvalidQuantity
from inventory.services import MAX_PRICE

from ..errors import InvalidOrder
from ..models import Order

MAX_LINE_QUANTITY = 100_000
_total_field = Order._meta.get_field("total")
# The largest amount the total column holds (numeric(14, 2): 999,999,999,999.99).
MAX_ORDER_TOTAL = Decimal(10) ** (_total_field.max_digits - _total_field.decimal_places) - Decimal(10) ** (
    -_total_field.decimal_places
)
CENT = Decimal("0.01")


def check_line(*, quantity: int, price: Decimal | None, sku: str = "") -> None:
    """A line's quantity within 1..100,000 and its price (when given) a sum of money a line can store."""
    details = {"field": "lines", "sku": sku} if sku else {"field": "lines"}
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidQuantity(
            gettext("Line quantity must be between 1 and %(max_line_quantity)s.")
            % {"max_line_quantity": f"{MAX_LINE_QUANTITY:,}"},
            details=details,
        )
    if price is None:
        return
    amount = Decimal(price) if isinstance(price, int) and not isinstance(price, bool) else price
    if (
        not isinstance(amount, Decimal)
        or not amount.is_finite()
        or not 0 <= amount <= MAX_PRICE
        or amount != amount.quantize(CENT)
    ):
        raise InvalidOrder(
            gettext("Line price must be an amount from 0 to %(max_price)s with at most two decimal places.")
            % {"max_price": f"{MAX_PRICE:,}"},
            details=details,
        )


def lines_total(lines: Iterable[tuple[Decimal, int]]) -> Decimal:
    """What (price, quantity) pairs add up to; refused when an order's total column could not store it."""
    total = sum((price * quantity for price, quantity in lines), start=Decimal("0.00"))
    if total > MAX_ORDER_TOTAL:
        raise InvalidOrder(
            gettext(
                "The order total would be %(total)s, more than an order can hold (%(max_order_total)s). Lower the quantities or prices, or take it as several orders."
            )
            % {"total": f"{total:,.2f}", "max_order_total": f"{MAX_ORDER_TOTAL:,.2f}"},
            details={"field": "lines", "total": f"{total:.2f}", "max_total": f"{MAX_ORDER_TOTAL:.2f}"},
        )
    return total


def order_total(*, lines: Iterable[tuple[Decimal, int, Decimal]], discount: Decimal, delivery_cost: Decimal) -> Decimal:
    """The order's total: its lines (price × quantity − line discount) less its discount plus delivery. A discount
    larger than what it applies to is refused, never turned into a negative amount."""
    goods = Decimal("0.00")
    for price, quantity, line_discount in lines:
        if line_discount > price * quantity:
            raise InvalidOrder(
                gettext("A line discount of %(line_discount)s is more than the line's %(price)s.")
                % {"line_discount": f"{line_discount:.2f}", "price": f"{price * quantity:.2f}"},
                field="discount",
            )
        goods += price * quantity - line_discount
    if discount > goods:
        raise InvalidOrder(
            gettext("The discount of %(discount)s is more than the goods' %(goods)s.")
            % {"discount": f"{discount:.2f}", "goods": f"{goods:.2f}"},
            field="discount",
        )
    return lines_total([(goods - discount + delivery_cost, 1)])

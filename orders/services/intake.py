"""Order intake: from the API, the phone-order form and the demo seeder alike."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.db.models import F
from django.utils.translation import gettext

from inventory.errors import UnknownProduct
from inventory.models import Product
from oms.actors import Actor
from oms.db import AnyOf, HotQuery, HotRead, RowsInsert, broken_constraint, joins_transaction, read_together
from oms.event_catalogue import OrderCreated
from oms.events import record_tenant_events
from oms.models import Membership, Role, Tenant

from ..catalogue import next_order_keys
from ..errors import DuplicateExternalId, InvalidOrder
from ..models import (
    ActivityKind,
    AssignmentCursor,
    Group,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from . import customers, payments
from .activity import activity_entry, write_entries
from .amounts import check_line, lines_total

MAX_LINES = 500
User = get_user_model()


@dataclass
class LineInput:
    sku: str
    quantity: int
    price: Decimal | None = None


@dataclass
class OrderInput:
    customer_name: str
    lines: list[LineInput]
    customer_phone: str = ""
    customer_email: str = ""
    channel: str = "web"
    external_id: str = ""
    delivery_method: str = ""
    delivery_address: str = ""
    payment_method: str = ""
    payment_status: str = PaymentStatus.UNPAID
    comment: str = ""
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None  # for importing history; defaults to now


Product._meta.get_field("sku").register_lookup(AnyOf)
_products_by_sku = HotQuery(
    lambda tenant_id, skus: Product.objects.filter(tenant_id=tenant_id, sku__any_of=skus),
    # Parsed once per session; PostgreSQL plans it with its values unless its generic plan is as cheap.
    prepared=True,
    tenant_id=-7_301_005,
    skus=["sample-sku"],
)


_write_order = RowsInsert(Order, saved=True)  # saved: its history row is written as save() writes it
_write_lines = RowsInsert(OrderLine)  # no history row for a new line, as bulk_create writes none


def _check_lines(lines: list[LineInput]) -> None:
    if not lines:
        raise InvalidOrder(gettext("An order needs at least one line."), details={"field": "lines"})
    if len(lines) > MAX_LINES:
        raise InvalidOrder(
            gettext("An order can have at most %(max_lines)s lines.") % {"max_lines": MAX_LINES},
            details={"field": "lines"},
        )
    for line in lines:
        check_line(quantity=line.quantity, price=line.price, sku=line.sku)


def _products_read(tenant, lines: list[LineInput]) -> HotRead:
    return _products_by_sku.with_values(tenant_id=tenant.pk, skus=sorted({line.sku for line in lines}))


def _known_products(lines: list[LineInput], found: list[Product]) -> dict[str, Product]:
    products = {p.sku: p for p in found}
    unknown = sorted({line.sku for line in lines} - products.keys())
    if unknown:
        raise UnknownProduct(
            gettext("Unknown SKU: %(unknown)s.") % {"unknown": ", ".join(unknown)}, details={"skus": unknown}
        )
    return products


def next_manager_id(*, tenant) -> int | None:
    """Round-robin over the tenant's active managers in the order of their ids: the one after the cursor's, else the
    first; None when the shop assigns nobody or has no active manager. One statement: the cursor row is made on first
    need, and its locked, latest version is what the next manager is counted from, so orders taken side by side
    still go one to each."""
    if not tenant.round_robin_assignment:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH managers AS ("  # noqa: S608 - the tables are the models' own
            f"SELECT m.user_id FROM {Membership._meta.db_table} m JOIN {User._meta.db_table} u ON u.id = m.user_id "
            "WHERE m.tenant_id = %(tenant)s AND m.role = %(role)s AND m.is_active AND u.is_active) "
            f"INSERT INTO {AssignmentCursor._meta.db_table} AS c (tenant_id, last_user_id) "
            "VALUES (%(tenant)s, (SELECT min(user_id) FROM managers)) "
            "ON CONFLICT (tenant_id) DO UPDATE SET last_user_id = coalesce("
            "(SELECT min(user_id) FROM managers WHERE user_id > c.last_user_id), (SELECT min(user_id) FROM managers)) "
            "RETURNING last_user_id",
            {"tenant": tenant.pk, "role": Role.MANAGER},
        )
        return cursor.fetchone()[0]


_first_status_of_group = HotQuery(  # every new order asks for it
    lambda tenant_id, group: OrderStatus.objects.filter(tenant_id=tenant_id, group=group, is_active=True).order_by(
        "-is_default", "position", "pk"
    )[:1],
    prepared=True,  # a shop's few statuses: planning cost more than the read, and no value changes the best plan
    tenant_id=-7_301_004,
    group="sample-group",
)


def _status_read(*, tenant_id, group: str) -> HotRead:
    return _first_status_of_group.with_values(tenant_id=tenant_id, group=group)


def _first_status(found: list[OrderStatus], group: str) -> OrderStatus:
    if not found:
        raise InvalidOrder(gettext("The shop has no active status in group '%(group)s'.") % {"group": group})
    return found[0]


def default_status(*, tenant_id, group: str = Group.NEW) -> OrderStatus:
    return _first_status(_status_read(tenant_id=tenant_id, group=group).run(), group)


@joins_transaction
def create_order(*, tenant: Tenant, data: OrderInput, actor: Actor) -> Order:
    """A new order in the tenant's default `new` status, its customer matched by phone, then e-mail.

    A fixed number of round trips whatever the number of lines (tests/orders/test_intake_cost.py): the products,
    the customer's contacts and the status are read together; the order's number and the ids of its rows are taken
    together; every figure is known before the writes, and nobody waits for them (they go with the COMMIT) but for
    the order's own INSERT when it has an external id (a duplicate is answered). The returned order carries its
    status and customer, and `fresh_lines` (with their products), as the database now holds them."""
    _check_lines(data.lines)
    contacts = customers.contacts_given(data.customer_phone, data.customer_email)
    found_products, found_contacts, found_status = read_together(
        _products_read(tenant, data.lines),
        customers.known_contacts_read(tenant, contacts),
        _status_read(tenant_id=tenant.pk, group=Group.NEW),
    )
    products = _known_products(data.lines, found_products)
    prices = [products[line.sku].price if line.price is None else line.price for line in data.lines]
    total = lines_total(zip(prices, (line.quantity for line in data.lines), strict=True))  # before any write
    if data.payment_status not in (PaymentStatus.UNPAID, PaymentStatus.PAID):
        raise InvalidOrder(gettext("Payment status must be 'unpaid' or 'paid'."), details={"field": "payment.status"})
    status = _first_status(found_status, Group.NEW)
    known = customers.known_contacts(found_contacts)
    customer = customers.matched_customer(contacts, known)
    keys = next_order_keys(tenant_id=tenant.pk, new_customer=customer is None, lines=len(data.lines))
    if customer is None:
        customer = customers.add_customer(
            tenant=tenant,
            customer_id=keys.customer_id,
            name=data.customer_name,
            phone=data.customer_phone,
            email=data.customer_email,
            address=data.delivery_address,
        )
    customers.remember_contacts(customer, contacts, known)
    channel = data.channel or "web"
    paid_at_once = data.payment_status == PaymentStatus.PAID and total > 0  # API.md: one payment of its total
    try:
        # No savepoint: a duplicate external id ends the transaction anyway (the constraint decides, so two
        # concurrent requests with one external id cannot both pass a check made before the INSERT).
        (order,) = _write_order(
            [
                Order(
                    id=keys.order_id,
                    root_id=keys.order_id,
                    tenant=tenant,
                    number=str(keys.number),
                    channel=channel,
                    external_id=data.external_id,
                    customer=customer,
                    status=status,
                    group=Group.NEW,
                    manager_id=next_manager_id(tenant=tenant)
                    if actor.user_id is None or actor.role != Role.MANAGER
                    else actor.user_id,
                    delivery_method=data.delivery_method,
                    delivery_address=data.delivery_address,
                    payment_method=data.payment_method,
                    comment=data.comment,
                    tags=data.tags,
                    total=total,
                    **(payments.opening_state(total) if paid_at_once else {}),
                    **(
                        {
                            "created_at": data.created_at,
                            "updated_at": data.created_at,
                            "status_changed_at": data.created_at,
                        }
                        if data.created_at
                        else {}
                    ),
                )
            ],
            ahead=not data.external_id,
        )
    except IntegrityError as exc:
        if broken_constraint(exc) != "order_unique_external_id":
            raise
        raise DuplicateExternalId(
            gettext("An order with external id '%(external_id)s' already exists in channel '%(channel)s'.")
            % {"external_id": data.external_id, "channel": channel},
            details={"external_id": data.external_id, "channel": channel},
        ) from exc
    lines = _write_lines(
        [
            OrderLine(
                id=line_id,
                tenant=tenant,
                order=order,
                product=products[line.sku],
                quantity=line.quantity,
                price=price,
                cost=products[line.sku].cost_price,
            )
            for line, price, line_id in zip(data.lines, prices, keys.line_ids, strict=True)
        ],
        ahead=True,
    )
    order.fresh_lines = lines  # for an answer made from memory (orders.api); order.lines still reads the database
    activities = [
        activity_entry(
            order=order,
            kind=ActivityKind.CREATED,
            actor=actor,
            changes={"channel": order.channel, "lines": [[ln.product.sku, ln.quantity] for ln in lines]},
            at=data.created_at,
        )
    ]
    announced = [
        OrderCreated(
            order_id=order.pk,
            number=order.number,
            channel=order.channel,
            status=order.status.code,
            total=str(order.total),
        )
    ]
    if paid_at_once:
        _, payment_entry, payment_event = payments.record_opening_payment(
            order=order, method=data.payment_method, actor=actor
        )
        activities.append(payment_entry)
        announced.append(payment_event)
    write_entries(activities)
    record_tenant_events(tenant=tenant, events=announced)
    return order


def bump_children_counter(root: Order) -> int:
    Order.objects.filter(pk=root.pk).update(children_count=F("children_count") + 1)
    root.refresh_from_db(fields=["children_count"])
    return root.children_count

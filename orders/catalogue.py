"""The default status catalogue and transition matrix every new tenant starts with (API.md)."""

from typing import NamedTuple

from django.db import connection

from oms.db import fetch_prepared

from .models import Group, OrderStatus, StatusPurpose, StatusTransition

DEFAULT_STATUSES = [
    # code, name, group, colour
    ("new", "New", Group.NEW, "#2f5bea"),
    ("confirmed", "Confirmed", Group.APPROVAL, "#7a5af8"),
    ("awaiting-stock", "Awaiting stock", Group.APPROVAL, "#dc6803"),
    ("assembling", "Assembling", Group.ASSEMBLY, "#0e9384"),
    ("packed", "Packed", Group.ASSEMBLY, "#088ab2"),
    ("handed-over", "Handed over", Group.DELIVERY, "#6172f3"),
    ("in-transit", "In transit", Group.DELIVERY, "#4e5ba6"),
    ("at-pickup-point", "At pickup point", Group.DELIVERY, "#9e77ed"),
    ("delivered", "Delivered", Group.COMPLETE, "#12b76a"),
    ("cancelled", "Cancelled", Group.CANCEL, "#98a2b3"),
    ("refused", "Refused", Group.CANCEL, "#f04438"),
    ("returned", "Returned", Group.CANCEL, "#b42318"),
]

DEFAULT_TRANSITIONS = [
    ("new", "confirmed"),
    ("confirmed", "assembling"),
    ("confirmed", "awaiting-stock"),
    ("awaiting-stock", "confirmed"),
    ("assembling", "packed"),
    ("packed", "handed-over"),
    ("handed-over", "in-transit"),
    ("handed-over", "delivered"),
    ("in-transit", "at-pickup-point"),
    ("in-transit", "delivered"),
    ("in-transit", "refused"),
    ("at-pickup-point", "delivered"),
    ("at-pickup-point", "refused"),
    ("refused", "returned"),
] + [
    (code, "cancelled")
    for code, _, group, _ in DEFAULT_STATUSES
    if group in (Group.NEW, Group.APPROVAL, Group.ASSEMBLY)
]

SPLIT_TARGET = "awaiting-stock"

# What each status of the default catalogue is for (the code looks statuses up by purpose, never by code).
DEFAULT_PURPOSES = {
    "awaiting-stock": StatusPurpose.SPLIT_TARGET,
    "packed": StatusPurpose.PACKED,
    "handed-over": StatusPurpose.HANDED_OVER,
    "in-transit": StatusPurpose.IN_TRANSIT,
    "at-pickup-point": StatusPurpose.AT_PICKUP_POINT,
    "delivered": StatusPurpose.DELIVERED,
    "refused": StatusPurpose.REFUSED,
    "returned": StatusPurpose.RETURNED,
}
FIRST_ORDER_NUMBER = 1001


def install_default_catalogue(*, tenant) -> None:
    statuses = {}
    for position, (code, name, group, color) in enumerate(DEFAULT_STATUSES):
        statuses[code] = OrderStatus.objects.create(
            tenant=tenant,
            code=code,
            name=name,
            group=group,
            color=color,
            position=position,
            is_default=code in ("new", "confirmed", "assembling", "handed-over", "delivered", "cancelled"),
            purpose=DEFAULT_PURPOSES.get(code, ""),
        )
    StatusTransition.objects.bulk_create(
        [
            StatusTransition(tenant=tenant, from_status=statuses[a], to_status=statuses[b])
            for a, b in DEFAULT_TRANSITIONS
        ]
    )
    create_number_sequence(tenant_id=tenant.pk)


# The one schema where the application role may create objects: its own per-tenant number sequences.
NUMBER_SCHEMA = "order_numbers"


def number_schema_grants(role: str) -> list[str]:
    """Each shop's sequence is made by the application when the shop is; nowhere else may that role create."""
    return [
        f"CREATE SCHEMA IF NOT EXISTS {NUMBER_SCHEMA}",
        f"GRANT USAGE, CREATE ON SCHEMA {NUMBER_SCHEMA} TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {NUMBER_SCHEMA} TO {role}",
        # A shop created by a maintenance command (the owner: seed_bulk) gets a sequence the application can use.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {NUMBER_SCHEMA} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
    ]


def number_sequence_name(tenant_id: int) -> str:
    return f"{NUMBER_SCHEMA}.t{int(tenant_id)}"


def create_number_sequence(*, tenant_id: int) -> None:
    """Order numbers come from a per-tenant PostgreSQL sequence: no row lock serialises order intake."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {number_sequence_name(tenant_id)} START {FIRST_ORDER_NUMBER}")


def drop_number_sequence(*, tenant) -> None:
    """The tenant finalizer: a deleted shop's sequence goes with it."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SEQUENCE IF EXISTS {number_sequence_name(tenant.pk)}")


class OrderKeys(NamedTuple):
    number: int
    order_id: int
    customer_id: int | None  # only when asked for: the order's customer is new
    line_ids: list[int]


# The tenant's next number and the ids the new rows take (the order's, so it can be its own root in the INSERT; a new
# customer's and the lines', so those INSERTs need not wait for their ids): one round trip. A tenant made before number
# sequences existed has none: to_regclass finds that without an error (which would need a savepoint, two statements
# more on every order, to survive).
_NEXT_KEYS_SQL = (
    "SELECT CASE WHEN to_regclass(%s) IS NOT NULL THEN nextval(%s::text::regclass) END, "
    "nextval(pg_get_serial_sequence('orders_order', 'id')), "
    "CASE WHEN %s::boolean THEN nextval(pg_get_serial_sequence('orders_customer', 'id')) END, "
    "ARRAY(SELECT nextval(pg_get_serial_sequence('orders_orderline', 'id')) FROM generate_series(1, %s::integer))"
)


def next_order_keys(*, tenant_id: int, new_customer: bool = False, lines: int = 0) -> OrderKeys:
    """The number and id of a new order of the tenant, with ids for a new customer (if asked) and its `lines`."""
    name = number_sequence_name(tenant_id)
    ((number, *ids),) = fetch_prepared(_NEXT_KEYS_SQL, [name, name, new_customer, lines])  # parsed once a session
    if number is None:
        create_number_sequence(tenant_id=tenant_id)
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s::text::regclass)", [name])
            number = cursor.fetchone()[0]
    return OrderKeys(number, *ids)

"""Bulk order history for benchmarks and analytics: a million orders in minutes, generated inside PostgreSQL.

    python manage.py seed_bulk --orders 1000000 --customers 200000 [--tenant bulk] [--months 24] [--seed 1]

The tenant (through `create_tenant`, default catalogue), 5 managers, products and 2 warehouses with opening
stock come first. The bulk (customers, contacts, orders, lines, reservations) is planned in temporary tables
with `INSERT ... SELECT generate_series`, every random choice a hash of (row key, salt, seed): one seed gives
the same data whatever plan PostgreSQL picks. It bypasses the services: no history rows, activities or events.
Every constraint holds: unique and CHECK constraints as rows go in; foreign keys by one join per key after the
load when the connection may skip the per-row triggers (superuser), else by those triggers. Running it again on
a tenant adds more, numbered after what is there; the tenant's number sequence ends past the last number used.
"""

import random
import re
import time
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from inventory import services as stock
from inventory.models import MoveKind, Product, StockLevel, StockMove, Warehouse
from oms import rls
from oms.models import Role, Tenant
from oms.services import add_member, create_tenant, ensure_user
from orders.catalogue import FIRST_ORDER_NUMBER, create_number_sequence, number_sequence_name
from orders.models import Group, OrderStatus

MANAGERS = 5
SPLIT_SHARE = 0.0575  # children per root from splits: ~5% of roots, some with two children
COPY_SHARE = 0.01  # children per root from copies
LOYAL_SHARE = 0.35  # share of customers who may buy again; the rest buy once

# Planned status codes (the default catalogue); each maps to the tenant's status of that code, else its group's.
PLAN = [
    ("new", Group.NEW),
    ("confirmed", Group.APPROVAL),
    ("awaiting-stock", Group.APPROVAL),
    ("assembling", Group.ASSEMBLY),
    ("packed", Group.ASSEMBLY),
    ("handed-over", Group.DELIVERY),
    ("in-transit", Group.DELIVERY),
    ("at-pickup-point", Group.DELIVERY),
    ("delivered", Group.COMPLETE),
    ("cancelled", Group.CANCEL),
    ("refused", Group.CANCEL),
    ("returned", Group.CANCEL),
]
# Status mix by age of the order (days): fresh orders are open, old ones delivered or cancelled.
AGE_BUCKETS = [  # upper bound in days (the SQL below hard-codes 1, 3, 10, 30), {code: weight}
    (1, {"new": 30, "confirmed": 22, "awaiting-stock": 6, "assembling": 14, "packed": 10, "handed-over": 8,
         "cancelled": 10}),
    (3, {"new": 4, "confirmed": 8, "awaiting-stock": 6, "assembling": 8, "packed": 8, "handed-over": 12,
         "in-transit": 32, "at-pickup-point": 4, "delivered": 10, "cancelled": 8}),
    (10, {"awaiting-stock": 3, "assembling": 1, "packed": 2, "in-transit": 14, "at-pickup-point": 12,
          "delivered": 56, "cancelled": 8, "refused": 4}),
    (30, {"awaiting-stock": 0.5, "at-pickup-point": 1.5, "delivered": 82, "cancelled": 8, "refused": 2,
          "returned": 6}),
    (None, {"awaiting-stock": 0.2, "in-transit": 0.1, "at-pickup-point": 0.1, "delivered": 85.1, "cancelled": 8.5,
            "refused": 1, "returned": 5}),
]  # fmt: skip
SLOTS = 1000  # resolution of the status mix: one slot = 0.1 %


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Anna Maria Elena Olga Irina Natalia Svetlana Tatiana Ekaterina Julia Daria Sofia Alina Polina Vera Ksenia "
    "Ivan Dmitry Sergey Alexey Pavel Oleg Andrey Mikhail Nikolai Artem Maxim Roman Denis Egor Kirill Timur"
)
LAST_NAMES = _words(
    "Ivanov Petrov Sidorov Smirnov Kuznetsov Popov Volkov Lebedev Kozlov Novikov Morozov Orlov Sokolov Pavlov "
    "Semenov Golubev Vinogradov Bogdanov Vorobiev Fedorov Mikhailov Belyaev Tarasov Belov Komarov Zaitsev "
    "Solovyov Vasiliev Zakharov Borisov Yakovlev Grigoriev Romanov Vorontsov Gusev Titov Kuzmin Kudryavtsev"
)
STREETS = _words("Lenina Mira Sadovaya Tsentralnaya Shkolnaya Lesnaya Sovetskaya Molodezhnaya Novaya Zarechnaya")
CITIES = _words("Moscow Kazan Samara Tver Perm Omsk Tula Ufa Sochi Vologda")
PRODUCT_WORDS = _words(
    "T-shirt Hoodie Cap Mug Bottle Tote Socks Jacket Notebook Pen Scarf Gloves Backpack Umbrella Lamp Towel "
    "Pillow Blanket Candle Poster"
)
COLOURS = _words("black white grey navy red green blue beige")

# A uniform [0, 1) from a hash of (row key, salt, seed): the same data for a seed whatever the query plan.
# A one-expression SQL function, so PostgreSQL inlines it; the seed is baked in as an integer literal.
RANDOM_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.bulk_rnd(k bigint, salt integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
'SELECT (hashint8extended(k, salt::bigint + SEED) & 4503599627370495)::float8 / 4503599627370496.0'
"""

# Customers, each with an acquisition time (more of them lately: the shop grows) and a loyalty weight: most
# buy once (weight 0), the rest more often, heavy-tailed. `cum_w` runs over customers in order of acquisition.
CUSTOMERS_PLAN = """
CREATE TEMP TABLE bulk_c ON COMMIT DROP AS
SELECT c, id, acquired, first_name || ' ' || last_name AS name,
       '+7 9' || substr(p9, 1, 2) || ' ' || substr(p9, 3, 3) || '-' || substr(p9, 6, 2) || '-' || substr(p9, 8, 2)
           AS phone,
       '79' || p9 AS phone_normalized,
       CASE WHEN pg_temp.bulk_rnd(c, 4) < 0.55
            THEN lower(first_name) || '.' || lower(last_name) || (%(phone_offset)s + c) || '@mail.example'
            ELSE '' END AS email,
       address,
       sum(loyalty) OVER (ORDER BY acquired, c) AS cum_w
FROM (
    SELECT c,
           %(customer_base)s + c - 1 AS id,
           %(start)s::timestamptz + %(span)s::interval * power(pg_temp.bulk_rnd(c, 1), 0.85) AS acquired,
           CASE WHEN c = 1 OR pg_temp.bulk_rnd(c, 9) < %(loyal_share)s
                THEN 1 / (pg_temp.bulk_rnd(c, 10) + 0.03) ELSE 0 END AS loyalty,
           (%(first_names)s::text[])[1 + floor(pg_temp.bulk_rnd(c, 2) * %(n_first)s)::int] AS first_name,
           (%(last_names)s::text[])[1 + floor(pg_temp.bulk_rnd(c, 3) * %(n_last)s)::int] AS last_name,
           lpad(mod((%(phone_offset)s + c) * 387420489, 1000000000)::text, 9, '0') AS p9,
           (%(cities)s::text[])[1 + floor(pg_temp.bulk_rnd(c, 5) * %(n_cities)s)::int] || ', '
             || (%(streets)s::text[])[1 + floor(pg_temp.bulk_rnd(c, 6) * %(n_streets)s)::int] || ' st. '
             || (1 + floor(pg_temp.bulk_rnd(c, 7) * 150))::int || ', apt. '
             || (1 + floor(pg_temp.bulk_rnd(c, 8) * 300))::int AS address
    FROM generate_series(1, %(customers)s::bigint) AS c
) s
"""

# Root orders. The first M make each customer's first purchase, at its acquisition (customers in shuffled
# order). Every further one happens at a time drawn for the shop as a whole and goes to a customer acquired
# before then, picked in proportion to loyalty: so old loyal customers have bought most, none before joining.
# Both look-ups are running window aggregates over a merge of customers and orders (no per-row index probes):
# `avail` is the loyalty weight of everyone acquired by then; the pick is the first customer whose cumulative
# weight reaches a uniform target below it.
ROOTS_PLAN = """
CREATE TEMP TABLE bulk_r ON COMMIT DROP AS
WITH extra AS (
    SELECT x.i, x.at, max(x.cum_w) OVER (ORDER BY x.at, x.i NULLS FIRST ROWS UNBOUNDED PRECEDING) AS avail
    FROM (
        SELECT NULL::bigint AS i, acquired AS at, cum_w FROM bulk_c
        UNION ALL
        SELECT i, %(start)s::timestamptz + %(span)s::interval * power(pg_temp.bulk_rnd(i, 11), 0.8), NULL
        FROM generate_series(%(customers)s + 1, %(roots)s::bigint) AS i
    ) x
), picked AS (
    SELECT y.i, y.at, min(y.key) OVER (ORDER BY y.target DESC, y.i NULLS FIRST ROWS UNBOUNDED PRECEDING) AS key
    FROM (
        SELECT NULL::bigint AS i, NULL::timestamptz AS at, cum_w AS target,
               ARRAY[cum_w, extract(epoch FROM acquired)::float8, c::float8] AS key
        FROM bulk_c
        UNION ALL
        SELECT i, at, GREATEST(pg_temp.bulk_rnd(i, 12) * COALESCE(NULLIF(avail, 0), %(total_w)s), 1e-9), NULL
        FROM extra
        WHERE i IS NOT NULL
    ) y
)
SELECT s.i, s.c, row_number() OVER (ORDER BY s.created_at, s.i) AS rank, s.created_at
FROM (
    SELECT g.i, cu.c, cu.acquired AS created_at
    FROM generate_series(1, LEAST(%(roots)s, %(customers)s)::bigint) AS g (i)
    JOIN bulk_c cu ON cu.c = mod((g.i - 1) * %(perm)s, %(customers)s) + 1
    UNION ALL
    SELECT i, key[3]::bigint,
           LEAST(GREATEST(at, to_timestamp(key[2]) + interval '1 minute'), %(now)s::timestamptz)
    FROM picked
    WHERE i IS NOT NULL
) s
"""

# Children (split-offs and copies) of roots that are at least a little old; some roots get two.
CHILDREN_PLAN = """
CREATE TEMP TABLE bulk_k ON COMMIT DROP AS
SELECT x.*, row_number() OVER (PARTITION BY x.rank ORDER BY x.created_at, x.j) AS k
FROM (
    SELECT ch.j, r.i AS root_i, r.rank, r.c, ch.kind,
           GREATEST(r.created_at + interval '1 second',
                    LEAST(r.created_at + interval '1 hour' * (0.5 + pg_temp.bulk_rnd(ch.j, 23)
                                                              * CASE WHEN ch.kind = 'split' THEN 72 ELSE 720 END),
                          %(now)s::timestamptz - interval '1 minute')) AS created_at
    FROM (
        SELECT j,
               1 + floor(pg_temp.bulk_rnd(CASE WHEN j > 1 AND pg_temp.bulk_rnd(j, 20) < 0.13 THEN j - 1 ELSE j END,
                                          21) * %(root_cut)s)::bigint AS rank,
               CASE WHEN pg_temp.bulk_rnd(j, 22) < %(split_ratio)s THEN 'split' ELSE 'copy' END AS kind
        FROM generate_series(1, %(children)s::bigint) AS j
    ) ch
    JOIN bulk_r r ON r.rank = ch.rank
) x
"""

# Every order with its id, allocated in order of creation so ids grow with time as in real life.
ORDERS_IDS = """
CREATE TEMP TABLE bulk_o ON COMMIT DROP AS
SELECT %(order_base)s + row_number() OVER (ORDER BY s.created_at, s.key) - 1 AS id, s.*
FROM (
    SELECT 'root'::text AS kind, i AS key, i AS src, rank, 0::bigint AS k, c, created_at FROM bulk_r
    UNION ALL
    SELECT kind, %(roots)s + j, root_i, rank, k, c, created_at FROM bulk_k
) s
"""

ORDERS_PLAN = """
CREATE TEMP TABLE bulk_oo ON COMMIT DROP AS
SELECT o.id, o.kind, o.key, o.src, o.rank, o.k, o.c, o.created_at,
       CASE WHEN o.kind = 'root' THEN o.id ELSE r.id END AS root_id,
       CASE WHEN o.kind = 'root' THEN NULL ELSE r.id END AS parent_id,
       CASE WHEN o.kind = 'root' THEN (%(number_base)s + o.rank - 1)::text
            ELSE (%(number_base)s + o.rank - 1)::text || '-' || (o.k + 1) END AS number,
       s.code, s.status_id, s.grp,
       CASE WHEN o.kind = 'split' THEN 1
            WHEN pg_temp.bulk_rnd(o.src, 50) < 0.6 THEN 1
            WHEN pg_temp.bulk_rnd(o.src, 50) < 0.88 THEN 2
            ELSE 3 END AS nlines
FROM (
    SELECT o.*,
           CASE WHEN o.kind = 'split' AND p.plan = 1 THEN 3 ELSE p.plan END AS plan
    FROM bulk_o o
    CROSS JOIN LATERAL (
        SELECT (%(dist)s::int[])[
            CASE WHEN o.created_at > %(now)s::timestamptz - interval '1 day' THEN 0
                 WHEN o.created_at > %(now)s::timestamptz - interval '3 days' THEN 1
                 WHEN o.created_at > %(now)s::timestamptz - interval '10 days' THEN 2
                 WHEN o.created_at > %(now)s::timestamptz - interval '30 days' THEN 3
                 ELSE 4 END * %(slots)s + floor(pg_temp.bulk_rnd(o.key, 30) * %(slots)s)::int + 1] AS plan
    ) p
) o
JOIN bulk_s s ON s.plan = o.plan
LEFT JOIN bulk_o r ON o.kind <> 'root' AND r.kind = 'root' AND r.rank = o.rank
"""

# 1-3 lines (popular products more often); a copy repeats its root's lines, a split-off takes part of one.
LINES_PLAN = """
CREATE TEMP TABLE bulk_l ON COMMIT DROP AS
SELECT %(line_base)s + row_number() OVER (ORDER BY x.order_id, x.ln) - 1 AS id, x.*
FROM (
    SELECT o.id AS order_id, ln.ln, o.grp, o.created_at,
           (%(product_ids)s::bigint[])[q.product_idx + 1] AS product_id,
           CASE WHEN o.kind = 'split' THEN GREATEST(1, ceil(q.quantity / 2.0)::int) ELSE q.quantity END AS quantity,
           round((%(price_cents)s::bigint[])[q.product_idx + 1]
                 * CASE WHEN pg_temp.bulk_rnd(o.src * 4 + ln.ln, 53) < 0.08 THEN 0.9 ELSE 1 END / 100.0, 2) AS price
    FROM bulk_oo o
    JOIN (VALUES (1), (2), (3)) AS ln (ln) ON ln.ln <= o.nlines
    CROSS JOIN LATERAL (
        SELECT CASE WHEN pg_temp.bulk_rnd(o.src * 4 + ln.ln, 52) < 0.75 THEN 1
                    WHEN pg_temp.bulk_rnd(o.src * 4 + ln.ln, 52) < 0.9 THEN 2
                    ELSE 3 + floor(pg_temp.bulk_rnd(o.src * 4 + ln.ln, 54) * 3)::int END AS quantity,
               mod(floor(%(products)s * power(pg_temp.bulk_rnd(o.src, 51), 2.0))::int
                   + (ln.ln - 1) * (1 + floor(pg_temp.bulk_rnd(o.src, 55) * (%(products)s - 1) / 3)::int),
                   %(products)s) AS product_idx
    ) q
) x
"""

# In the INSERTs, /*extra_columns*/ and /*extra_values*/ take any column added to the models since (see
# `_extra_columns`), so a new NOT NULL field with a default does not break the seeder.
INSERT_CUSTOMERS = """
INSERT INTO orders_customer (
    id, tenant_id, name, phone, email, address, tags, notes, created_at, merged_into_id /*extra_columns*/
)
SELECT id, %(tenant)s, name, phone, email, address, '{}', '', acquired, NULL /*extra_values*/
FROM bulk_c
ORDER BY id
"""

INSERT_CONTACTS = """
INSERT INTO orders_customercontact (id, tenant_id, customer_id, kind, value, normalized /*extra_columns*/)
SELECT %(contact_base)s + row_number() OVER (ORDER BY x.customer_id, x.kind DESC) - 1,
       %(tenant)s, x.customer_id, x.kind, x.value, x.normalized /*extra_values*/
FROM (
    SELECT id AS customer_id, 'phone' AS kind, phone AS value, phone_normalized AS normalized FROM bulk_c
    UNION ALL
    SELECT id, 'email', email, email FROM bulk_c WHERE email <> ''
) x
ON CONFLICT DO NOTHING
"""

INSERT_ORDERS = """
INSERT INTO orders_order (
    id, tenant_id, number, parent_id, root_id, children_count, channel, external_id, customer_id, status_id,
    "group", manager_id, delivery_method, delivery_address, payment_method, payment_status, comment, total,
    tags, created_at, updated_at, status_changed_at, packing_verified_at, handed_over_at, delivered_at
    /*extra_columns*/
)
SELECT o.id, %(tenant)s, o.number, o.parent_id, o.root_id, COALESCE(cc.n, 0), o.channel, '', o.customer_id,
       o.status_id, o.grp, o.manager_id, o.delivery_method, o.address, o.payment_method,
       CASE WHEN o.payment_method = 'cash on delivery' THEN CASE WHEN o.code = 'delivered' THEN 'paid' ELSE 'unpaid' END
            WHEN o.code = 'new' AND pg_temp.bulk_rnd(o.key, 46) < 0.3 THEN 'unpaid'
            WHEN o.code = 'cancelled' AND pg_temp.bulk_rnd(o.key, 46) < 0.5 THEN 'unpaid'
            ELSE 'paid' END,
       CASE WHEN pg_temp.bulk_rnd(o.key, 47) < 0.04 THEN 'Call before delivery, please.' ELSE '' END,
       t.total,
       '{}',
       o.created_at,
       o.changed_at + CASE WHEN pg_temp.bulk_rnd(o.key, 48) < 0.1
                           THEN (%(now)s::timestamptz - o.changed_at) * 0.2 * pg_temp.bulk_rnd(o.key, 49)
                           ELSE interval '0' END,
       o.changed_at,
       CASE WHEN o.code IN ('packed', 'handed-over', 'in-transit', 'at-pickup-point', 'delivered', 'refused',
                            'returned')
            THEN o.created_at + (o.changed_at - o.created_at) * CASE WHEN o.code = 'packed' THEN 1 ELSE 0.35 END END,
       CASE WHEN o.code IN ('handed-over', 'in-transit', 'at-pickup-point', 'delivered', 'refused', 'returned')
            THEN o.created_at + (o.changed_at - o.created_at) * CASE WHEN o.code = 'handed-over' THEN 1 ELSE 0.5 END
       END,
       CASE WHEN o.code = 'delivered' THEN o.changed_at END
       /*extra_values*/
FROM (
    SELECT o.*, cu.id AS customer_id, cu.address,
           CASE WHEN pg_temp.bulk_rnd(o.src, 40) < 0.6 THEN 'web'
                WHEN pg_temp.bulk_rnd(o.src, 40) < 0.9 THEN 'marketplace' ELSE 'phone' END AS channel,
           CASE WHEN pg_temp.bulk_rnd(o.src, 41) < 0.55 THEN 'card'
                WHEN pg_temp.bulk_rnd(o.src, 41) < 0.9 THEN 'cash on delivery' ELSE 'bank transfer' END
               AS payment_method,
           CASE WHEN pg_temp.bulk_rnd(o.src, 42) < 0.5 THEN 'courier'
                WHEN pg_temp.bulk_rnd(o.src, 42) < 0.85 THEN 'pickup point' ELSE 'post' END AS delivery_method,
           CASE WHEN pg_temp.bulk_rnd(o.src, 43) < 0.92
                THEN (%(managers)s::bigint[])[1 + floor(pg_temp.bulk_rnd(o.src, 44) * %(n_managers)s)::int] END
               AS manager_id,
           o.created_at + LEAST(
               CASE o.code
                   WHEN 'new' THEN interval '0'
                   WHEN 'delivered' THEN interval '1 hour' * (30 + 140 * pg_temp.bulk_rnd(o.key, 31))
                   WHEN 'cancelled' THEN interval '1 hour' * (0.2 + 48 * pg_temp.bulk_rnd(o.key, 31))
                   WHEN 'refused' THEN interval '1 hour' * (72 + 200 * pg_temp.bulk_rnd(o.key, 31))
                   WHEN 'returned' THEN interval '1 hour' * (150 + 400 * pg_temp.bulk_rnd(o.key, 31))
                   ELSE interval '1 hour' * (1 + 72 * pg_temp.bulk_rnd(o.key, 31)) END,
               (%(now)s::timestamptz - o.created_at) * (0.5 + 0.5 * pg_temp.bulk_rnd(o.key, 32))
           ) AS changed_at
    FROM bulk_oo o
    JOIN bulk_c cu ON cu.c = o.c
) o
JOIN (SELECT order_id, sum(price * quantity) AS total FROM bulk_l GROUP BY order_id) t ON t.order_id = o.id
LEFT JOIN (SELECT rank, count(*) AS n FROM bulk_k GROUP BY rank) cc ON o.kind = 'root' AND cc.rank = o.rank
ORDER BY o.id
"""

# Assembly orders hold reservations; delivery/complete ones have shipped theirs; cancel released them.
INSERT_LINES = """
INSERT INTO orders_orderline (id, tenant_id, order_id, product_id, quantity, price, reserved /*extra_columns*/)
SELECT id, %(tenant)s, order_id, product_id, quantity, price,
       CASE WHEN grp IN ('assembly', 'delivery', 'complete') THEN quantity ELSE 0 END /*extra_values*/
FROM bulk_l
ORDER BY id
"""

INSERT_RESERVATIONS = """
INSERT INTO inventory_reservation (
    tenant_id, line_id, warehouse_id, product_id, quantity, created_at /*extra_columns*/
)
SELECT %(tenant)s, id, %(warehouse)s, product_id, quantity, created_at /*extra_values*/
FROM bulk_l
WHERE grp = 'assembly'
"""

# Reserved units came in with a receipt of their own, so on-hand still equals the sum of the ledger.
RECEIVE_RESERVED = """
WITH held AS (
    SELECT product_id, sum(quantity) AS units FROM bulk_l WHERE grp = 'assembly' GROUP BY product_id
), levels AS (
    UPDATE inventory_stocklevel sl
    SET on_hand = sl.on_hand + held.units, reserved = sl.reserved + held.units
    FROM held
    WHERE sl.tenant_id = %(tenant)s AND sl.warehouse_id = %(warehouse)s AND sl.product_id = held.product_id
    RETURNING sl.product_id, held.units
)
INSERT INTO inventory_stockmove (
    tenant_id, kind, warehouse_id, product_id, quantity, reason, created_at /*extra_columns*/
)
SELECT %(tenant)s, 'receipt', %(warehouse)s, product_id, units, 'bulk seed: stock held by open orders', %(now)s
       /*extra_values*/
FROM levels
"""

INSERTS = [  # (what, table, SQL), in this order
    ("customers", "orders_customer", INSERT_CUSTOMERS),
    ("customer contacts", "orders_customercontact", INSERT_CONTACTS),
    ("orders", "orders_order", INSERT_ORDERS),
    # Reservations before their lines: where the database keeps a line's `reserved` from its reservations (it
    # does unless the triggers are off for the load), the lines do not exist yet, and go in with their figure.
    ("reservations", "inventory_reservation", INSERT_RESERVATIONS),
    ("order lines", "orders_orderline", INSERT_LINES),
    ("receipts for reserved stock", "inventory_stockmove", RECEIVE_RESERVED),
]
# The big tables. For a large load their secondary indexes are dropped and built again afterwards (building an
# index once is far cheaper than a million inserts into it); unique constraints and CHECKs stay in place.
BIG_TABLES = ["orders_customer", "orders_customercontact", "orders_order", "orders_orderline"]
ANALYZED_TABLES = [*BIG_TABLES, "inventory_reservation", "inventory_stocklevel", "inventory_stockmove"]
REBUILD_MIN_ROWS = 50_000
VACUUM_MIN_ROWS = 50_000  # below this, ANALYZE only

SAVED_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(%(tables)s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY i.indrelid::regclass::text, i.indexrelid::regclass::text
"""
# Every foreign key of the big tables: (table, name, referenced table, columns, referenced columns).
FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k (attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n),
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k (attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n)
FROM pg_constraint c
WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype = 'f'
ORDER BY 1, 2
"""


def _cumulative_slots() -> list[int]:
    """The status mix as one flat int[]: SLOTS entries per age bucket, each an index (1-based) into PLAN."""
    codes = [code for code, _ in PLAN]
    flat = []
    for _, weights in AGE_BUCKETS:
        total = sum(weights.values())
        bucket, acc = [], 0.0
        for code, weight in weights.items():
            acc += weight
            bucket.extend([codes.index(code) + 1] * (round(acc / total * SLOTS) - len(bucket)))
        flat.extend(bucket)
    return flat


def _coprime_step(modulus: int) -> int:
    for prime in (1_000_003, 998_244_353, 1_000_000_007, 7919, 104_729):
        if modulus % prime:
            return prime
    return 1


def _with_extra_columns(sql: str, table: str, now) -> tuple[str, dict]:
    """Fill the columns the SQL does not name (fields added to the model later) with the field's default."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    listed = re.search(r"INSERT INTO \w+ \((.*?)/\*extra_columns\*/", sql, re.S).group(1)
    known = {name.strip().strip('"') for name in listed.split(",")}
    columns, values, params = [], [], {}
    for field in model._meta.concrete_fields:
        if field.column in known or field.primary_key or field.null:
            continue
        if getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
            continue
        if not field.has_default():
            raise CommandError(f"seed_bulk does not know what to put in {table}.{field.column}; teach it.")
        default = field.default
        value = now if default is timezone.now else field.get_default()
        name = f"extra_{table}_{field.column}"
        columns.append(connection.ops.quote_name(field.column))
        values.append(f"%({name})s")
        params[name] = field.get_db_prep_save(value, connection)
    sql = sql.replace("/*extra_columns*/", "".join(f", {c}" for c in columns))
    sql = sql.replace("/*extra_values*/", "".join(f", {v}" for v in values))
    return sql, params


class Command(BaseCommand):
    help = "Generate bulk order history (customers, orders, lines) fast with SQL, for benchmarks and analytics."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--tenant", default="bulk", help="Slug; the tenant is created when missing.")
        parser.add_argument("--months", type=int, default=24, help="Spread the orders over this many months.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--products", type=int, default=200, help="Products to create when the tenant has none.")
        parser.add_argument(
            "--rebuild-indexes",
            choices=["auto", "always", "never"],
            default="auto",
            help="Drop the secondary indexes of the orders, lines and customer tables during the load and build them "
            f"again after (auto: when adding at least {REBUILD_MIN_ROWS:,} orders and at least as many as the table "
            "holds). Other sessions can neither read nor write these tables meanwhile; without it, they can read.",
        )
        parser.add_argument(
            "--no-vacuum",
            action="store_true",
            help=f"Only ANALYZE at the end (always so below {VACUUM_MIN_ROWS:,} orders); VACUUM sets the visibility "
            "map, so benchmarks right after the load get index-only scans and no hint-bit writes.",
        )

    def handle(self, *args, orders, customers, tenant, months, seed, products, rebuild_indexes, no_vacuum, **options):
        if orders < 0 or customers < 1 or months < 1 or products < 1:
            raise CommandError("--orders must be >= 0; --customers, --months and --products >= 1.")
        if not 0 <= seed < 1_000_000:
            raise CommandError("--seed must be between 0 and 999999.")
        self.began = time.monotonic()
        setup = self.prepare(slug=tenant, seed=seed, product_count=products)
        with rls.tenant_context(setup["tenant"].pk):
            counts = self.generate(
                setup, orders=orders, customers=customers, months=months, seed=seed, rebuild=rebuild_indexes
            )
            self.finish(vacuum=not no_vacuum and orders >= VACUUM_MIN_ROWS)
        total = time.monotonic() - self.began
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {total:.1f} s: tenant '{tenant}' got {counts['customers']} customers, "
                f"{counts['orders']} orders ({counts['children']} split-offs/copies), {counts['lines']} lines, "
                f"numbers {counts['first_number']}..{counts['last_number']}."
            )
        )

    def step(self, text: str) -> None:
        self.stdout.write(f"[{time.monotonic() - self.began:7.1f} s] {text}")
        self.stdout.flush()

    # --- the small things, through the normal services ------------------------------------------------------
    @transaction.atomic
    def prepare(self, *, slug: str, seed: int, product_count: int) -> dict:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            tenant = create_tenant(slug=slug, name=f"Bulk shop ({slug})")
            self.step(f"created tenant '{slug}' with the default catalogue")
        rls.bind(tenant.pk)  # as the application role, the policies admit this shop's rows
        create_number_sequence(tenant_id=tenant.pk)
        managers = []
        for n in range(1, MANAGERS + 1):
            user = ensure_user(username=f"{slug}-manager-{n}", email=f"manager{n}@{slug}.example")
            add_member(tenant=tenant, user=user, role=Role.MANAGER)
            managers.append(user.pk)

        rng = random.Random(seed)  # noqa: S311 - test data
        warehouses = []
        for code, name, priority in (("BULK-MAIN", "Main warehouse", 10), ("BULK-NORTH", "North depot", 20)):
            warehouse = Warehouse.objects.filter(tenant=tenant, code=code).first()
            warehouses.append(
                warehouse or stock.create_warehouse(tenant=tenant, code=code, name=name, priority=priority)
            )
        if not Product.objects.filter(tenant=tenant).exists():
            Product.objects.bulk_create(
                [
                    Product(
                        tenant=tenant,
                        sku=f"BULK-{n:05d}",
                        name=f"{rng.choice(PRODUCT_WORDS)} {rng.choice(COLOURS)} #{n}",
                        barcode=f"29{n:011d}",
                        price=Decimal(rng.choice([5, 9, 12, 15, 19, 25, 29, 39, 49, 59, 79, 99, 149, 249]))
                        - Decimal("0.10") * rng.randint(0, 1),
                    )
                    for n in range(1, product_count + 1)
                ]
            )
            self.step(f"created {product_count} products")
        product_rows = list(Product.objects.filter(tenant=tenant, is_active=True).order_by("pk"))
        if not product_rows:
            raise CommandError(f"Tenant '{slug}' has no active products to sell.")
        for index, warehouse in enumerate(warehouses):
            stocked = set(StockLevel.objects.filter(warehouse=warehouse).values_list("product_id", flat=True))
            lines = [
                (product, rng.randint(2_000, 20_000) if index == 0 else rng.randint(0, 2_000))
                for product in product_rows
                if product.pk not in stocked
            ]
            lines = [(product, units) for product, units in lines if units > 0]
            if lines:  # as `receive` would book it (a level and a receipt each), minus the per-row locking
                StockLevel.objects.bulk_create(
                    [StockLevel(tenant=tenant, warehouse=warehouse, product=p, on_hand=units) for p, units in lines]
                )
                StockMove.objects.bulk_create(
                    [
                        StockMove(
                            tenant=tenant,
                            kind=MoveKind.RECEIPT,
                            warehouse=warehouse,
                            product=p,
                            quantity=units,
                            reason="bulk seed: opening stock",
                        )
                        for p, units in lines
                    ]
                )
                self.step(f"received opening stock of {len(lines)} products in {warehouse.code}")
        statuses, by_group = {}, {}
        for status in OrderStatus.objects.filter(tenant=tenant).order_by("-is_active", "-is_default", "position"):
            statuses.setdefault(status.code, status)
            by_group.setdefault(status.group, status)
        plan_statuses = []
        for index, (code, group) in enumerate(PLAN, start=1):
            status = statuses.get(code)
            status = status if status is not None and status.group == group else by_group.get(group)
            if status is None:
                raise CommandError(f"Tenant '{slug}' has no status in group '{group}'.")
            plan_statuses.append((index, code, status.pk, group))
        return {
            "tenant": tenant,
            "managers": managers,
            "warehouse": warehouses[0].pk,
            "products": [(p.pk, p.price) for p in product_rows],
            "statuses": plan_statuses,
        }

    # --- the bulk, in SQL -----------------------------------------------------------------------------------
    def generate(self, setup: dict, *, orders: int, customers: int, months: int, seed: int, rebuild: str) -> dict:
        tenant = setup["tenant"]
        roots = min(orders, round(orders / (1 + SPLIT_SHARE + COPY_SHARE)))
        children = orders - roots if roots else 0
        now = timezone.now()
        span = timedelta(days=round(months * 30.4375, 4))
        with transaction.atomic(), connection.cursor() as cursor:
            for setting, value in (
                ("work_mem", "256MB"),
                ("maintenance_work_mem", "1GB"),
                ("synchronous_commit", "off"),
                # JIT compiling costs ~1.5 s per statement: worth it only on big runs.
                ("jit", "on" if orders >= 200_000 else "off"),
            ):
                cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
            cursor.execute(RANDOM_FUNCTION.replace("SEED", str(int(seed) * 1000)))
            for table in ("bulk_c", "bulk_r", "bulk_k", "bulk_o", "bulk_oo", "bulk_l", "bulk_s"):
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
            cursor.execute("CREATE TEMP TABLE bulk_s (plan int, code text, status_id bigint, grp text) ON COMMIT DROP")
            cursor.executemany("INSERT INTO bulk_s VALUES (%s, %s, %s, %s)", setup["statuses"])

            rebuild = self.should_rebuild(cursor, rebuild, orders)
            # Ids come in blocks taken from the tables' sequences (nextval per row is the slowest part of a load);
            # the lock keeps other sessions from inserting, hence from taking ids, until this commits.
            mode = "ACCESS EXCLUSIVE" if rebuild else "SHARE ROW EXCLUSIVE"
            for table in BIG_TABLES:  # in a fixed order
                cursor.execute(f"LOCK TABLE {connection.ops.quote_name(table)} IN {mode} MODE")
            # New phones and e-mails continue after the customers already there.
            cursor.execute("SELECT count(*) FROM orders_customer WHERE tenant_id = %s", [tenant.pk])
            phone_offset = cursor.fetchone()[0]
            number_base = self.reserve_numbers(cursor, tenant_id=tenant.pk, count=roots)
            products = setup["products"]
            params = {
                "tenant": tenant.pk,
                "now": now,
                "start": now - span,
                "span": span,
                "customers": customers,
                "roots": roots,
                "children": children,
                "root_cut": max(1, int(roots * 0.985)),
                "split_ratio": SPLIT_SHARE / (SPLIT_SHARE + COPY_SHARE),
                "loyal_share": LOYAL_SHARE,
                "perm": _coprime_step(customers),
                "phone_offset": phone_offset,
                "first_names": FIRST_NAMES,
                "n_first": len(FIRST_NAMES),
                "last_names": LAST_NAMES,
                "n_last": len(LAST_NAMES),
                "streets": STREETS,
                "n_streets": len(STREETS),
                "cities": CITIES,
                "n_cities": len(CITIES),
                "number_base": number_base,
                "dist": _cumulative_slots(),
                "slots": SLOTS,
                "products": len(products),
                "product_ids": [pk for pk, _ in products],
                "price_cents": [int(price * 100) for _, price in products],
                "managers": setup["managers"],
                "n_managers": len(setup["managers"]),
                "warehouse": setup["warehouse"],
                "customer_base": self.reserve_ids(cursor, "orders_customer", customers),
                "order_base": self.reserve_ids(cursor, "orders_order", orders),
            }
            self.step(f"planning {customers} customers, {roots} orders and {children} split-offs/copies")
            for label, table, sql in (
                ("customers", "bulk_c", CUSTOMERS_PLAN),
                ("root orders", "bulk_r", ROOTS_PLAN),
                ("children", "bulk_k", CHILDREN_PLAN),
                ("order ids", "bulk_o", ORDERS_IDS),
                ("statuses and families", "bulk_oo", ORDERS_PLAN),
                ("lines", "bulk_l", LINES_PLAN),
            ):
                if table == "bulk_l":
                    cursor.execute("SELECT coalesce(sum(nlines), 0) FROM bulk_oo")
                    params["line_base"] = self.reserve_ids(cursor, "orders_orderline", cursor.fetchone()[0])
                cursor.execute(sql, params)
                rows = cursor.rowcount
                if table == "bulk_c":
                    cursor.execute("SELECT max(cum_w) FROM bulk_c")
                    params["total_w"] = cursor.fetchone()[0]
                cursor.execute(f"ANALYZE pg_temp.{table}")
                self.step(f"planned {label}: {rows} rows")
            cursor.execute("SELECT count(*) + count(*) FILTER (WHERE email <> '') FROM bulk_c")
            params["contact_base"] = self.reserve_ids(cursor, "orders_customercontact", cursor.fetchone()[0])

            saved = self.drop_indexes(cursor) if rebuild else None
            # A foreign-key trigger per inserted row costs more than the load itself; a superuser can switch the
            # triggers off for this transaction and check every new row's references with one join per key.
            check_keys_in_bulk = self.is_superuser(cursor)
            if check_keys_in_bulk:
                cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
            for label, table, sql in INSERTS:
                sql, extra = _with_extra_columns(sql, table, now)
                cursor.execute(sql, {**params, **extra})
                self.step(f"inserted {label}: {cursor.rowcount} rows")
            if check_keys_in_bulk:
                cursor.execute("SELECT set_config('session_replication_role', 'origin', true)")
                self.check_foreign_keys(cursor, tenant_id=tenant.pk, since_ids=self.block_starts(params))
            if saved is not None:
                self.restore_indexes(cursor, saved)
            cursor.execute("SELECT count(*) FROM bulk_l")
            lines = cursor.fetchone()[0]
            self.step("committing")
        self.step("committed")
        return {
            "customers": customers,
            "orders": roots + children,
            "children": children,
            "lines": lines,
            "first_number": number_base,
            "last_number": number_base + roots - 1,
        }

    @staticmethod
    def reserve_numbers(cursor, *, tenant_id: int, count: int) -> int:
        """Take `count` numbers from the tenant's sequence at once, past any number already used."""
        sequence = number_sequence_name(tenant_id)
        cursor.execute("SELECT pg_sequence_last_value(%s::regclass)", [sequence])
        last = cursor.fetchone()[0]
        cursor.execute(
            "SELECT max(number::bigint) FROM orders_order WHERE tenant_id = %s AND number ~ '^[0-9]{1,18}$'",
            [tenant_id],
        )
        used = cursor.fetchone()[0]
        base = max(FIRST_ORDER_NUMBER, (last or 0) + 1, (used or 0) + 1)
        if count:
            cursor.execute("SELECT setval(%s::regclass, %s)", [sequence, base + count - 1])
        return base

    @staticmethod
    def reserve_ids(cursor, table: str, count: int) -> int:
        """The first of `count` consecutive ids taken from the table's id sequence (the caller holds a lock)."""
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        base = cursor.fetchone()[0]
        if count > 1:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, base + count - 1])
        return base

    @staticmethod
    def should_rebuild(cursor, rebuild: str, orders: int) -> bool:
        # Dropping indexes is the owner's: run with the owner's DATABASE_URL (as `migrate` is) to get the fast load.
        cursor.execute(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables WHERE tablename = 'orders_order'"
        )
        if not cursor.fetchone()[0]:
            return False
        if rebuild != "auto":
            return rebuild == "always"
        cursor.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'orders_order'::regclass")
        return orders >= REBUILD_MIN_ROWS and orders >= cursor.fetchone()[0]

    @staticmethod
    def is_superuser(cursor) -> bool:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        return cursor.fetchone()[0]

    @staticmethod
    def block_starts(params: dict) -> dict:
        return {
            "orders_customer": params["customer_base"],
            "orders_customercontact": params["contact_base"],
            "orders_order": params["order_base"],
            "orders_orderline": params["line_base"],
        }

    def check_foreign_keys(self, cursor, *, tenant_id: int, since_ids: dict) -> None:
        """What the skipped triggers would have checked: every reference of the new rows exists."""
        cursor.execute(FOREIGN_KEYS, {"tables": BIG_TABLES})
        keys = cursor.fetchall()
        quote = connection.ops.quote_name
        for table, name, target, columns, target_columns in keys:
            if table not in since_ids:
                continue
            present = " AND ".join(f"t.{quote(column)} IS NOT NULL" for column in columns)
            match = " AND ".join(f"r.{quote(rc)} = t.{quote(c)}" for c, rc in zip(columns, target_columns, strict=True))
            # Identifiers from pg_catalog, quoted; values as parameters.
            query = f"SELECT count(*) FROM {quote(table)} t WHERE t.tenant_id = %s AND t.id >= %s AND {present}"  # noqa: S608
            query += f" AND NOT EXISTS (SELECT 1 FROM {quote(target)} r WHERE {match})"  # noqa: S608
            cursor.execute(query, [tenant_id, since_ids[table]])
            missing = cursor.fetchone()[0]
            if missing:
                raise CommandError(f"{missing} new rows of {table} break the foreign key {name}; nothing was saved.")
        self.step(f"checked {len(keys)} foreign keys of the new rows")

    def drop_indexes(self, cursor) -> list:
        cursor.execute(SAVED_INDEXES, {"tables": BIG_TABLES})
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        self.step(f"dropped {len(indexes)} secondary indexes for the load")
        return indexes

    def restore_indexes(self, cursor, indexes: list) -> None:
        for _, definition in indexes:
            cursor.execute(definition)
        self.step(f"rebuilt {len(indexes)} indexes")

    def finish(self, *, vacuum: bool) -> None:
        tables = ", ".join(ANALYZED_TABLES)
        with connection.cursor() as cursor:
            if vacuum and not connection.in_atomic_block:
                self.step("VACUUM ANALYZE")
                cursor.execute(f"VACUUM (ANALYZE) {tables}")
            else:
                self.step("ANALYZE")
                cursor.execute(f"ANALYZE {tables}")
            # The shop's small tables (its products, warehouses, statuses, matrix): autovacuum would have analyzed
            # them long before a shop grew this big; unanalyzed, the planner takes a catalogue for a row or two and
            # joins an order's lines to every product of the shop.
            cursor.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables "
                "WHERE last_analyze IS NULL AND last_autoanalyze IS NULL"
            )
            never = [row[0] for row in cursor.fetchall()]
            if never:
                cursor.execute(f"ANALYZE {', '.join(never)}")
                self.step(f"ANALYZE of {len(never)} tables never analyzed")

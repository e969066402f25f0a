from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oms import rls
from oms.models import Preferences, Role
from orders.models import Customer, Order, StatusTransition
from tests.conftest import login
from tests.factories import make_member

from .helpers import SYSTEM, move, place_order, stocked_product

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_list_filters_and_searches(tenant, client_for):
    product = stocked_product(tenant)
    ann = place_order(tenant, [(product, 1)], customer_name="Ann Lee", customer_phone="+7 900 123-45-67")
    bob = place_order(tenant, [(product, 1)], customer_name="Bob Stone", channel="marketplace")
    move(bob, "confirmed")
    manager = client_for()
    page = manager.get(reverse("orders:list"), {"q": "89001234567"}).content.decode()
    assert ann.number in page and f">{bob.number}<" not in page
    page = manager.get(reverse("orders:list"), {"status": "confirmed"}).content.decode()
    assert bob.number in page and f">{ann.number}<" not in page
    page = manager.get(reverse("orders:list"), {"channel": "marketplace", "sort": "total"}).content.decode()
    assert bob.number in page
    partial = manager.get(reverse("orders:list"), {"q": "Ann"}, **HTMX)
    assert b'id="order-table"' in partial.content and b"<html" not in partial.content


def test_channel_filter_offers_the_shops_channels_only(tenant, other_tenant, client_for):
    from orders.selectors import channels_in_use

    product = stocked_product(tenant)
    for channel in ("web", "marketplace", "phone", "web"):
        place_order(tenant, [(product, 1)], channel=channel)
    place_order(other_tenant, [(stocked_product(other_tenant), 1)], channel="elsewhere")
    assert channels_in_use(tenant=tenant) == ["marketplace", "phone", "web"]
    page = client_for().get(reverse("orders:list")).content.decode()
    assert '<option value="marketplace">marketplace</option>' in page and "elsewhere" not in page
    refused = client_for().get(reverse("orders:list"), {"channel": "elsewhere"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()


def test_list_query_count_does_not_grow_with_rows(tenant, client_for, django_assert_max_num_queries):
    product = stocked_product(tenant, on_hand=100)
    manager = client_for()
    for _ in range(30):
        place_order(tenant, [(product, 1)])
    with django_assert_max_num_queries(9):
        response = manager.get(reverse("orders:list"))
    assert response.content.decode().count('name="orders"') == 30


def test_list_rows_read_only_what_a_row_prints(tenant, client_for):
    product = stocked_product(tenant)
    order = place_order(tenant, [(product, 2)], customer_name="Ann Lee", customer_phone="+7 900 123-45-67")
    manager = client_for()
    with CaptureQueriesContext(connection) as captured:
        page = manager.get(reverse("orders:list")).content.decode()
    rows_read = next(q["sql"] for q in captured.captured_queries if 'INNER JOIN "orders_orderstatus"' in q["sql"])
    assert '"auth_user"."password"' not in rows_read and '"orders_order"."comment"' not in rows_read
    assert f'href="{reverse("orders:detail", args=[order.pk])}"' in page
    assert all(text in page for text in (order.number, "Ann Lee", "+7 900 123-45-67", order.status.name))


def test_detail_query_count_is_bounded(tenant, client_for, django_assert_max_num_queries):
    products = [stocked_product(tenant, cost_price=Decimal("4.00")) for _ in range(8)]
    order = place_order(tenant, [(p, 1) for p in products])
    manager = client_for()
    with django_assert_max_num_queries(13):  # the order is read once: lines, marks and all
        assert manager.get(reverse("orders:detail", args=[order.pk])).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        page = manager.get(reverse("orders:detail", args=[order.pk])).content.decode()
    line_reads = [q for q in captured.captured_queries if q["sql"].startswith('SELECT "orders_orderline".')]
    assert len(line_reads) == 1  # the table, the margin and the copy form all use the lines read with the order
    assert all(p.sku in page for p in products) and 'data-testid="margin"' in page


def test_status_buttons_show_only_allowed_moves(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    page = client_for().get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-testid="to-confirmed"' in page and 'data-testid="to-cancelled"' in page
    assert 'data-testid="to-delivered"' not in page


def test_htmx_status_change_answers_with_the_order_body(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    response = client_for().post(reverse("orders:change_status", args=[order.pk]), {"to": "confirmed"}, **HTMX)
    assert b'id="order-body"' in response.content and b"<html" not in response.content
    order.refresh_from_db()
    assert order.status.code == "confirmed"


def test_a_status_change_reads_the_shop_no_more_than_the_page_does(tenant, client_for):
    """The shop row read with the membership serves the change too (its event names the shop)."""
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    manager = client_for()
    with CaptureQueriesContext(connection) as captured:
        response = manager.post(reverse("orders:change_status", args=[order.pk]), {"to": "confirmed"}, **HTMX)
    assert response.status_code == 200
    shop_reads = [q["sql"] for q in captured.captured_queries if 'FROM "oms_tenant"' in q["sql"]]
    assert shop_reads == []  # it came joined to the membership, before the view
    assert len(captured.captured_queries) <= 18  # the order's lines and their products are two reads by key


def test_a_status_change_reads_the_order_once_before_writing(tenant, client_for):
    """The row is locked by the read that answers the 404: no plain read of it before the lock."""
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    manager = client_for()
    with CaptureQueriesContext(connection) as captured:
        manager.post(reverse("orders:change_status", args=[order.pk]), {"to": "confirmed"}, **HTMX)
    statements = [q["sql"] for q in captured.captured_queries]
    update = next(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "orders_order"'))
    order_reads = [sql for sql in statements[:update] if 'FROM "orders_order"' in sql]
    assert len(order_reads) == 1 and 'FOR UPDATE OF "orders_order"' in order_reads[0]


def test_a_refused_change_explains_itself_and_changes_nothing(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=0), 1)])
    move(order, "confirmed")
    response = client_for().post(reverse("orders:change_status", args=[order.pk]), {"to": "assembling"}, **HTMX)
    assert "0 of 1 reserved" in response.content.decode()
    order.refresh_from_db()
    assert order.status.code == "confirmed"


def test_reserve_split_and_copy_from_the_page(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant, on_hand=1), 3)])
    manager = client_for()
    manager.post(reverse("orders:reserve", args=[order.pk]), **HTMX)
    assert order.lines.get().reserved == 1
    page = manager.post(reverse("orders:split", args=[order.pk]), **HTMX).content.decode()
    child = Order.objects.get(parent=order)
    assert child.number in page
    response = manager.post(reverse("orders:copy", args=[order.pk]))
    copy = Order.objects.filter(parent=order).exclude(pk=child.pk).get()
    assert response["Location"] == reverse("orders:detail", args=[copy.pk])


def test_line_editing_and_validation(tenant, client_for):
    product = stocked_product(tenant, price="5.00")
    extra = stocked_product(tenant, price="7.00")
    order = place_order(tenant, [(product, 1)])
    manager = client_for()
    line = order.lines.get()
    manager.post(reverse("orders:edit_line", args=[order.pk, line.pk]), {"quantity": 4, "price": "4.50"}, **HTMX)
    manager.post(reverse("orders:add_line", args=[order.pk]), {"code": extra.barcode, "quantity": 2}, **HTMX)
    order.refresh_from_db()
    assert order.total == 4 * 4.5 + 2 * 7
    bad = manager.post(reverse("orders:edit_line", args=[order.pk, line.pk]), {"quantity": 0, "price": "x"}, **HTMX)
    assert "at least 1" in bad.content.decode()
    unknown = manager.post(reverse("orders:add_line", args=[order.pk]), {"code": "NOPE", "quantity": 1}, **HTMX)
    assert "No product with this SKU" in unknown.content.decode()
    line.refresh_from_db()
    assert line.quantity == 4


def test_lines_are_locked_after_approval(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    move(order, "confirmed")
    from orders.services import reservations

    reservations.reserve_order(order=order, actor=SYSTEM)
    move(order, "assembling")
    line = order.lines.get()
    response = client_for().post(
        reverse("orders:edit_line", args=[order.pk, line.pk]), {"quantity": 9, "price": "1"}, **HTMX
    )
    assert "cannot be changed" in response.content.decode()
    line.refresh_from_db()
    assert line.quantity == 1


@pytest.mark.parametrize("role", [Role.PACKER, Role.COURIER])
def test_packers_and_couriers_cannot_change_addresses_or_prices_even_by_crafted_post(tenant, client_for, role):
    order = place_order(tenant, [(stocked_product(tenant), 1)], delivery_address="Old street 1")
    line = order.lines.get()
    client = client_for(role)
    assert (
        client.post(
            reverse("orders:edit_fields", args=[order.pk]), {"delivery_address": "Evil 1", "payment_status": "paid"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("orders:edit_line", args=[order.pk, line.pk]), {"quantity": 1, "price": "0"}).status_code
        == 403
    )
    assert (
        client.post(reverse("orders:customer", args=[order.customer_id]), {"name": "X", "phone": "1"}).status_code
        == 403
    )
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.delivery_address == "Old street 1" and line.price == 10


def test_field_rights_hold_in_the_service_too(tenant):
    from oms.actors import Actor
    from orders.errors import FieldNotAllowed
    from orders.services import editing

    order = place_order(tenant, [(stocked_product(tenant), 1)])
    with pytest.raises(FieldNotAllowed):
        editing.update_order_fields(order=order, changes={"delivery_address": "x"}, actor=Actor(role=Role.PACKER))
    with pytest.raises(FieldNotAllowed):
        editing.update_line(line=order.lines.get(), quantity=1, price=0, actor=Actor(role=Role.COURIER))


def test_edit_fields_records_the_timeline(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant), 1)])
    client_for().post(
        reverse("orders:edit_fields", args=[order.pk]),
        {
            "delivery_address": "New 2",
            "payment_status": "paid",  # no longer a field: payments set it
            "delivery_method": "",
            "payment_method": "",
            "comment": "",
            "manager_id": "",
        },
    )
    order.refresh_from_db()
    assert order.delivery_address == "New 2" and order.payment_status == "unpaid"
    entry = order.activities.filter(kind="fields_changed").get()
    assert entry.changes["delivery_address"][1] == "New 2" and entry.actor is not None


def test_new_phone_order_form(tenant, client_for):
    product = stocked_product(tenant, sku="MUG")
    manager = client_for()
    bad = manager.post(reverse("orders:new"), {"customer_name": "Ann", "payment_status": "unpaid", "lines": "MUG zero"})
    assert "quantity must be a whole number" in bad.content.decode()
    unknown = manager.post(
        reverse("orders:new"), {"customer_name": "Ann", "payment_status": "unpaid", "lines": "NOPE 1"}
    )
    assert "Unknown SKU" in unknown.content.decode() and not Order.objects.exists()
    ok = manager.post(
        reverse("orders:new"),
        {"customer_name": "Ann", "payment_status": "unpaid", "channel": "phone", "lines": "MUG 2\n"},
    )
    order = Order.objects.get()
    assert ok["Location"] == reverse("orders:detail", args=[order.pk])
    assert order.lines.get().product == product and order.channel == "phone"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("MUG 1099511627776", "quantity must be between 1 and 100,000"),
        ("MUG 1000000 99999999999999.99", "price a sum from 0 to 9,999,999,999.99"),
        ("MUG 100000 9999999999.99", "The order total would be 999,999,999,999,000.00"),
        ("MUG 100 9999999999.99\nMUG 100 9999999999.99", "more than an order can hold"),
        ("DEAR 101", "The order total would be"),  # at the catalogue price
    ],
)
def test_new_order_form_refuses_numbers_too_large_for_an_order(tenant, client_for, lines, message):
    stocked_product(tenant, sku="MUG")
    stocked_product(tenant, sku="DEAR", price="9999999999.99")
    response = client_for().post(
        reverse("orders:new"), {"customer_name": "Ann", "payment_status": "unpaid", "lines": lines}
    )
    assert response.status_code == 200
    assert message in str(response.context["form"].errors["lines"])
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_editing_a_line_past_the_largest_total_changes_nothing(tenant, client_for):
    order = place_order(tenant, [(stocked_product(tenant, price="5.00"), 1)])
    line = order.lines.get()
    response = client_for().post(
        reverse("orders:edit_line", args=[order.pk, line.pk]),
        {"quantity": 100_000, "price": "9999999999.99"},
        **HTMX,
    )
    assert "The order total would be" in response.content.decode()
    line.refresh_from_db()
    order.refresh_from_db()
    assert (line.quantity, line.price, order.total) == (1, 5, 5)


def test_bulk_status_change_reports_each_order(tenant, client_for):
    product = stocked_product(tenant)
    movable = place_order(tenant, [(product, 1)])
    stuck = place_order(tenant, [(product, 1)])
    move(stuck, "confirmed")
    response = client_for().post(
        reverse("orders:bulk_status"), {"orders": [movable.pk, stuck.pk], "to": "confirmed"}, **HTMX
    )
    text = response.content.decode()
    assert "1 of 2" in text and "already" in text
    movable.refresh_from_db()
    assert movable.status.code == "confirmed"


def test_bulk_ignores_foreign_orders(tenant, other_tenant, client_for):
    foreign = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    client_for().post(reverse("orders:bulk_status"), {"orders": [foreign.pk], "to": "confirmed"})
    with rls.tenant_context(other_tenant.pk):
        foreign.refresh_from_db()
        assert foreign.status.code == "new"


def test_foreign_order_pages_are_404(tenant, other_tenant, client_for):
    foreign = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    manager = client_for()
    assert manager.get(reverse("orders:detail", args=[foreign.pk])).status_code == 404
    assert manager.post(reverse("orders:change_status", args=[foreign.pk]), {"to": "confirmed"}).status_code == 404
    for pk, to in ((foreign.pk, "no-such-status"), (2**63, "confirmed"), (2**70, "confirmed")):
        assert manager.post(reverse("orders:change_status", args=[pk]), {"to": to}).status_code == 404
    assert manager.get(reverse("orders:customer", args=[foreign.customer_id])).status_code == 404


def test_customer_card_and_merge(tenant, client_for):
    product = stocked_product(tenant, price="10.00")
    a = place_order(tenant, [(product, 2)], customer_name="Ann", customer_phone="+7 900 000-00-01")
    b = place_order(tenant, [(product, 1)], customer_name="Ann L", customer_phone="+7 900 000-00-02")
    manager = client_for()
    page = manager.get(reverse("orders:customer", args=[a.customer_id])).content.decode()
    assert "20.00" in page
    manager.post(reverse("orders:customer_merge", args=[a.customer_id]), {"duplicate": b.customer_id})
    assert Order.objects.filter(customer_id=a.customer_id).count() == 2
    assert Customer.objects.get(pk=b.customer_id).merged_into_id == a.customer_id
    response = manager.get(reverse("orders:customers"), {"q": "90000000002"})
    assert "Ann" in response.content.decode()


def test_matrix_grid_toggles_a_cell_by_htmx(tenant, client_for):
    admin = client_for(Role.ADMIN)
    page = admin.get(reverse("orders:matrix")).content.decode()
    assert 'data-testid="cell-new-confirmed"' in page
    new = tenant_status(tenant, "new")
    delivered = tenant_status(tenant, "delivered")
    response = admin.post(
        reverse("orders:matrix_toggle"), {"from": new.pk, "to": delivered.pk, "allowed": "on"}, **HTMX
    )
    assert b"checked" in response.content
    assert StatusTransition.objects.filter(tenant=tenant, from_status=new, to_status=delivered).exists()
    admin.post(reverse("orders:matrix_toggle"), {"from": new.pk, "to": delivered.pk}, **HTMX)
    assert not StatusTransition.objects.filter(tenant=tenant, from_status=new, to_status=delivered).exists()


def test_matrix_and_statuses_are_for_admins_and_owners_only(tenant, client_for):
    for role in (Role.MANAGER, Role.PACKER, Role.COURIER):
        assert client_for(role).get(reverse("orders:matrix")).status_code == 403
        assert client_for(role).get(reverse("orders:statuses")).status_code == 403


def test_admin_adds_and_renames_statuses(tenant, client_for):
    admin = client_for(Role.ADMIN)
    admin.post(
        reverse("orders:statuses"),
        {
            "code": "delivery-problem",
            "name": "Delivery problem",
            "group": "delivery",
            "color": "#ff0000",
            "position": 50,
            "is_active": "on",
        },
    )
    status = tenant_status(tenant, "delivery-problem")
    assert status.group == "delivery"
    duplicate = admin.post(
        reverse("orders:statuses"),
        {"code": "delivery-problem", "name": "x", "group": "new", "color": "#ff0000", "position": 1},
    )
    assert "already exists" in duplicate.content.decode()
    admin.post(
        reverse("orders:status_edit", args=[status.pk]),
        {"name": "Problem", "group": "delivery", "color": "#00ff00", "position": 5},
    )
    status.refresh_from_db()
    assert (status.name, status.color, status.is_active) == ("Problem", "#00ff00", False)


def tenant_status(tenant, code):
    from orders.models import OrderStatus

    return OrderStatus.objects.get(tenant=tenant, code=code)


def test_a_customer_name_is_never_read_as_a_format_string(tenant, client_for, settings):
    product = stocked_product(tenant)
    keep = place_order(tenant, [(product, 1)], customer_name="Ann")
    name = "{result.__init__.__globals__[settings].SECRET_KEY} {oops}"
    duplicate = place_order(tenant, [(product, 1)], customer_name=name)
    manager = client_for()
    response = manager.post(
        reverse("orders:customer_merge", args=[keep.customer_id]), {"duplicate": duplicate.customer_id}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200 and f"({name}) merged into Ann." in page
    assert settings.SECRET_KEY not in page


def test_a_status_position_beyond_what_the_column_holds_is_a_form_error(tenant, client_for):
    status = tenant_status(tenant, "confirmed")
    admin = client_for(Role.ADMIN)
    response = admin.post(
        reverse("orders:status_edit", args=[status.pk]),
        {"name": "Confirmed", "group": status.group, "color": "#00ff00", "position": "9" * 40, "is_active": "on"},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Position: Ensure this value is less than or equal to" in page
    assert f"“{status.name}” not saved." in page and "position:" not in page  # the label, not the field's name
    status.refresh_from_db()
    assert status.color != "#00ff00"


def test_list_rows_show_local_time_the_persons_language_and_escape_what_customers_wrote(tenant):
    """The rows are rendered apart from the page (orders/jinja2/orders/_order_rows.html): same time zone, language,
    number format and escaping as the page around them."""
    product = stocked_product(tenant)
    order = place_order(tenant, [(product, 3, Decimal("411.50"))], customer_name="<b>Ann</b> & Co")
    with rls.tenant_context(tenant.pk):
        Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 3, 1, 22, 30, tzinfo=UTC))
    member = make_member(tenant, Role.MANAGER)
    Preferences.objects.create(user=member, language="ru")
    with timezone.override("Asia/Vladivostok"):  # UTC+10: the next day
        page = login(member, tenant).get(reverse("orders:list")).content.decode()
    row = page[page.index(f'value="{order.pk}"') - 80 :]
    row = row[: row.index("</tr>")]
    assert f'aria-label="Выбрать заказ {order.number}"' in row
    assert f'href="{reverse("orders:detail", args=[order.pk])}"' in row
    assert "2026-03-02 08:30" in row and "03-02 08:30" in row
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; Co" in row and "<b>Ann</b>" not in page
    assert "1234,50" in row and "Не оплачен" in row


def test_panels_opening_do_not_show_the_order_bodys_saving_indicator(tenant, client_for):
    """The order body's indicator says "Saving…"; a panel that loads itself as the page opens has its own."""
    import re

    order = place_order(tenant, [(stocked_product(tenant), 1)])
    page = client_for().get(reverse("orders:detail", args=[order.pk])).content.decode()
    loaders = re.findall(r"<div [^>]*hx-trigger=\"load\"[^>]*>", page)
    assert loaders and all('hx-indicator="this"' in loader for loader in loaders)


def test_a_line_form_opened_before_a_split_does_not_bring_the_split_off_units_back(tenant, client_for):
    from orders.services import families, reservations

    product = stocked_product(tenant, price="5.00", on_hand=1)
    order = place_order(tenant, [(product, 4)])
    reservations.reserve_order(order=order, actor=SYSTEM)
    manager = client_for()
    page = manager.get(reverse("orders:detail", args=[order.pk])).content.decode()
    line = order.lines.get()
    assert 'name="shown_quantity" value="4"' in page
    child = families.split_unavailable(order=order, actor=SYSTEM)  # another manager, meanwhile: 3 units split off
    stale = {"quantity": 4, "price": "4.50", "shown_quantity": 4}  # only the price was changed on the open form
    answer = manager.post(reverse("orders:edit_line", args=[order.pk, line.pk]), stale, **HTMX).content.decode()
    assert "now has 1 unit" in answer
    line.refresh_from_db()
    assert (line.quantity, line.price) == (1, Decimal("5.00")) and child.lines.get().quantity == 3

"""Human words everywhere: every word a template shows is marked for translation, and a Russian user reads Russian
on the main screen of each role, with no English sentence left (shop data aside)."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from oms.models import Preferences, Role
from orders.models import OrderStatus
from tests.conftest import login
from tests.factories import make_member
from tests.oms.untranslated import report
from tests.orders.helpers import stocked_product
from tests.rls_support import within_tenant
from tests.shipments.helpers import handed_to_courier, order_to_pack

# Words people read are in text and in these attributes.
READ = {"placeholder", "title", "aria-label", "alt", "data-confirm", "label"}
SKIP = {"script", "style", "code", "pre"}
# A Latin word that is not an abbreviation or a code (SKU, CSV, MAIN-1): what an untranslated label looks like.
ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
# Not translated on purpose: the product's name, languages offered by their own names, keys on the keyboard.
NOT_ENGLISH = {"English", "Enter", "Ctrl", "Standard", "Webhooks", "round", "robin", "https", "example", "test"}


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.skipping = 0
        self.pieces: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skipping += 1
        self.pieces += [value for name, value in attrs if name in READ and value]

    def handle_endtag(self, tag):
        if tag in SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.pieces.append(data)


def english_left(html: str, data: set[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for piece in parser.pieces:
        words = [w for w in ENGLISH_WORD.findall(piece) if w not in NOT_ENGLISH and w not in data]
        if words:
            found.append(" ".join(piece.split())[:120])
    return found


def test_every_template_marks_the_words_it_shows():
    """A template that gains a word outside {% translate %} / {% blocktranslate %} fails here (see untranslated.py)."""
    assert report() == {}


@pytest.fixture
def russian(tenant):
    def make(role):
        member = make_member(tenant, role)
        Preferences.objects.create(user=member, language="ru")
        return member, login(member, tenant)

    return make


@within_tenant
def shop_data(tenant):
    """Shop data typed in Russian, so that any English left on a page is the interface's own."""
    product = stocked_product(tenant, on_hand=20, name="Кружка с логотипом", sku="MUG-1", barcode="4006381333931")
    other = stocked_product(tenant, on_hand=20, name="Чай чёрный", sku="TEA-1", barcode="4006381333948")
    fields = {"customer_name": "Иван Петров", "delivery_address": "Москва, ул. Ленина, 1", "delivery_method": "курьер"}
    return product, other, fields


def test_a_russian_user_reads_russian_on_the_main_screen_of_every_role(tenant, russian):
    product, other, fields = shop_data(tenant)
    to_pack = order_to_pack(tenant, lines=[(product, 2), (other, 1)], **fields)
    _, _, courier = handed_to_courier(tenant, lines=[(product, 1)], **fields)
    manager, manager_client = russian(Role.MANAGER)
    _, packer_client = russian(Role.PACKER)
    courier_client = login(courier, tenant)
    Preferences.objects.create(user=courier, language="ru")
    courier_client = login(courier, tenant)
    _, owner_client = russian(Role.OWNER)
    # Shop data: the statuses a shop starts with (it renames them in its own words), the channel, the actor's name.
    statuses = OrderStatus.objects.filter(tenant=tenant).values_list("name", flat=True)
    data = {*tenant.name.split(), "user", "web", "tests", *(word for name in statuses for word in name.split())}
    screens = [
        (manager_client, reverse("orders:list"), "Заказы"),
        (manager_client, reverse("orders:detail", args=[to_pack.pk]), "Заказ"),
        (packer_client, reverse("shipments:packing"), "Ждут сборки"),
        (packer_client, reverse("shipments:packing_station", args=[to_pack.pk]), "Отменить последний скан"),
        (courier_client, reverse("shipments:route"), "Маршрут"),
        (owner_client, reverse("analytics:home"), "Аналитика"),
        (packer_client, reverse("shipments:returns"), "Возврат покупателя"),
        (manager_client, reverse("shipments:order_custody", args=[to_pack.pk]), "Склад"),
        (owner_client, reverse("analytics:flow"), "Аналитика"),
        (owner_client, reverse("analytics:settings"), "Сборка"),
        (owner_client, reverse("oms:settings"), "Настройки"),
    ]
    left = {}
    for client, url, russian_word in screens:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert '<html lang="ru">' in body and russian_word in body, url
        if found := english_left(body, data):
            left[url] = found
    assert left == {}, "\n".join(f"{url}: {found}" for url, found in left.items())


def test_the_timeline_names_line_and_family_changes_in_the_readers_language(tenant):
    from django.utils import translation

    from orders.models import ActivityKind, OrderActivity
    from orders.words import Words

    changed = OrderActivity(kind=ActivityKind.LINE_CHANGED, changes={"sku": "MUG", "price": ["6.50", "12.50"]})
    split = OrderActivity(kind=ActivityKind.SPLIT, changes={"child": "1300-2", "lines": [["MUG", 1]]})
    with translation.override("ru"):
        words = Words(tenant.pk)
        assert "Цена: 6.50 → 12.50" in words.entry(changed) and "Дочерний заказ" in words.entry(split)

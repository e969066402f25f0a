import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from oms import rls
from oms.models import ApiToken, Membership, Role, Tenant, hash_token
from orders.models import Order, OrderStatus, StatusTransition

pytestmark = pytest.mark.django_db


def test_create_tenant_installs_the_default_catalogue_and_owner(capsys):
    call_command("create_tenant", "acme", name="Acme", owner_email="boss@acme.test", owner_password="Long-pass-987")
    tenant = Tenant.objects.get(slug="acme")
    rls.bind(tenant.pk)
    codes = set(OrderStatus.objects.filter(tenant=tenant).values_list("code", flat=True))
    assert {"new", "confirmed", "awaiting-stock", "delivered", "returned"} <= codes
    assert StatusTransition.objects.filter(tenant=tenant).count() > 10
    assert Membership.objects.get(tenant=tenant).role == Role.OWNER


def test_create_tenant_twice_fails_clearly_and_changes_nothing():
    call_command("create_tenant", "acme", name="Acme")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "acme", name="Other name")
    assert Tenant.objects.get(slug="acme").name == "Acme"


def test_create_api_token_prints_the_token_alone_on_the_last_line(capsys, tenant):
    call_command("create_api_token", tenant.slug, name="shop")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiToken.objects.get(token_hash=hash_token(last_line)).tenant == tenant


def test_create_api_token_for_unknown_tenant_fails():
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_token", "nope")


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Tenant.objects.filter(slug="demo").exists()


def test_seed_demo_creates_the_contract_logins_and_is_idempotent(settings, client):
    settings.DEBUG = True
    call_command("seed_demo", orders=30)
    tenant = Tenant.objects.get(slug="demo")
    rls.bind(tenant.pk)
    roles = dict(Membership.objects.filter(tenant=tenant).values_list("user__username", "role"))
    assert roles == {r: r for r in ["owner", "admin", "manager", "packer", "courier"]}
    order_count = Order.objects.filter(tenant=tenant).count()
    assert order_count >= 30
    call_command("seed_demo", orders=30)
    assert Order.objects.filter(tenant=tenant).count() == order_count
    response = client.post("/accounts/login/", {"username": "packer", "password": "demo-pass-1"})
    assert response.status_code == 302


def test_seed_demo_spaces_each_orders_status_changes_in_the_past(settings):
    from orders.models import ActivityKind, OrderActivity

    settings.DEBUG = True
    call_command("seed_demo", orders=30)
    rls.bind(Tenant.objects.get(slug="demo").pk)
    changes = OrderActivity.objects.filter(tenant__slug="demo", kind=ActivityKind.STATUS).order_by("order_id", "pk")
    by_order: dict[int, list] = {}
    for entry in changes:
        by_order.setdefault(entry.order_id, []).append(entry.at)
    walked = [times for times in by_order.values() if len(times) >= 3]
    assert walked, "some demo orders walk several statuses"
    for times in walked:
        gaps = [(later - earlier).total_seconds() for earlier, later in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 30  # in order, with time between them as in a real shop
    assert max(t for times in by_order.values() for t in times) <= timezone.now()

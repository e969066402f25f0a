"""A login that works for two shops belongs to its person: one shop's admin can neither set its password (the link
would open the other shop) nor end its sessions there; a person moved below admin keeps no API token; a task's
"back" address stays on this site."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from notifications.models import Task
from oms import rls, staff
from oms.models import ApiToken, Membership, Role
from tests.conftest import login
from tests.factories import make_member

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/accounts/reset/[^\s\"<]+")


def test_adding_another_shops_owner_gives_no_password_link_and_none_can_be_asked(tenant, other_tenant):
    victim = make_member(other_tenant, Role.OWNER, username="bob-owner-b")
    client = login(make_member(tenant, Role.ADMIN), tenant)

    added = client.post("/settings/staff/", {"username": "bob-owner-b", "email": "", "role": Role.PACKER}, follow=True)
    assert added.status_code == 200 and not LINK.search(added.content.decode())
    membership = Membership.objects.get(tenant=tenant, user=victim)
    asked = client.post(f"/settings/staff/{membership.pk}/password-link/", follow=True)
    assert not LINK.search(asked.content.decode())
    assert "keeps their own password" in asked.content.decode()
    with pytest.raises(staff.StaffRuleBroken):
        staff.password_link(membership=membership, actor=make_member(tenant, Role.OWNER), actor_role=Role.OWNER)


def test_a_login_deactivated_in_another_shop_is_still_not_this_shops_to_reset(tenant, other_tenant):
    dormant = make_member(other_tenant, Role.OWNER, username="dora-owner-b")
    with rls.tenant_context(other_tenant.pk):
        Membership.objects.filter(tenant=other_tenant, user=dormant).update(is_active=False)
    membership = Membership.objects.create(tenant=tenant, user=dormant, role=Role.PACKER)
    assert not staff.own_login(membership)  # reactivated there, a password set here would open that shop


def test_the_staff_list_offers_no_password_link_and_shows_no_email_of_a_shared_login(tenant, other_tenant):
    shared = make_member(other_tenant, Role.OWNER, username="erin-owner-b", email="erin@shop-b.example")
    Membership.objects.create(tenant=tenant, user=shared, role=Role.PACKER)
    make_member(tenant, Role.PACKER, username="frank-packer", email="frank@shop-a.example")
    page = login(make_member(tenant, Role.ADMIN), tenant).get("/settings/staff/").content.decode()
    rows = dict(re.findall(r'<tr data-member="([^"]+)"(.*?)</tr>', page, re.S))
    assert "erin@shop-b.example" not in page and "Keeps their own login" in rows["erin-owner-b"]
    assert "Password link" not in rows["erin-owner-b"] and "Deactivate" in rows["erin-owner-b"]
    assert "frank@shop-a.example" in rows["frank-packer"] and "Password link" in rows["frank-packer"]


def test_a_shared_logins_email_cannot_be_found_by_searching_for_it(tenant, other_tenant):
    shared = make_member(other_tenant, Role.OWNER, username="gina-owner-b", email="gina@shop-b.example")
    Membership.objects.create(tenant=tenant, user=shared, role=Role.PACKER)
    make_member(tenant, Role.PACKER, username="hal-packer", email="hal@shop-b.example")
    client = login(make_member(tenant, Role.ADMIN), tenant)
    found = client.get("/settings/staff/", {"q": "shop-b.example"}).content.decode()
    assert 'data-member="hal-packer"' in found and 'data-member="gina-owner-b"' not in found
    assert 'data-member="gina-owner-b"' in client.get("/settings/staff/", {"q": "gina"}).content.decode()


def test_a_login_of_this_shop_alone_gets_its_link(tenant):
    client = login(make_member(tenant, Role.ADMIN), tenant)
    added = client.post("/settings/staff/", {"username": "new-packer", "email": "", "role": Role.PACKER})
    assert LINK.search(added.content.decode())


def test_an_installation_admin_is_never_this_shops_to_reset(tenant, django_user_model):
    root = django_user_model.objects.create_superuser("root-admin", "", "x-Strong-pass-1")
    membership = Membership.objects.create(tenant=tenant, user=root, role=Role.PACKER)
    assert not staff.own_login(membership)


def test_deactivating_a_shared_login_here_leaves_its_session_in_the_other_shop(
    tenant, other_tenant, django_capture_on_commit_callbacks
):
    victim = make_member(other_tenant, Role.OWNER, username="carol-owner-b")
    victim_client = Client()
    assert (
        victim_client.post("/accounts/login/", {"username": "carol-owner-b", "password": "test-pass-1234"}).status_code
        == 302
    )
    client = login(make_member(tenant, Role.ADMIN), tenant)
    client.post("/settings/staff/", {"username": "carol-owner-b", "email": "", "role": Role.PACKER})
    membership = Membership.objects.get(tenant=tenant, user=victim)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/staff/{membership.pk}/active/", {"active": "0"})
    assert not Membership.objects.get(pk=membership.pk).is_active
    assert victim_client.get("/settings/staff/").status_code == 200


@pytest.mark.parametrize("role, kept", [(Role.PACKER, False), (Role.MANAGER, False), (Role.OWNER, True)])
def test_a_person_moved_below_admin_keeps_no_api_token(tenant, client_for, role, kept):
    admin = make_member(tenant, Role.ADMIN)
    made = login(admin, tenant).post("/settings/tokens/", {"name": "mine"})
    raw = re.search(r'data-testid="new-token">([^<]+)<', made.content.decode()).group(1)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/webhooks").status_code == 200
    membership = Membership.objects.get(tenant=tenant, user=admin)
    client_for(Role.OWNER).post(f"/settings/staff/{membership.pk}/role/", {"role": role})
    assert Membership.objects.get(pk=membership.pk).role == role
    assert (api.get("/api/v1/webhooks").status_code == 200) is kept
    assert ApiToken.objects.filter(created_by=admin, revoked_at__isnull=True).exists() is kept


@pytest.mark.parametrize("back", ["//evil.example/phish", "/\\evil.example", "https://evil.example/"])
def test_a_tasks_back_address_never_leaves_the_site(tenant, client_for, back):
    task = Task.objects.create(tenant=tenant, title="t", role=Role.MANAGER, created_by="x")
    answer = client_for(Role.MANAGER).post(f"/alerts/tasks/{task.pk}/toggle/", {"done": "1", "next": back})
    assert answer.status_code == 302 and answer["Location"] == "/alerts/tasks/"


def test_a_tasks_back_address_on_the_site_is_followed(tenant, client_for):
    task = Task.objects.create(tenant=tenant, title="t", role=Role.MANAGER, created_by="x")
    answer = client_for(Role.MANAGER).post(f"/alerts/tasks/{task.pk}/toggle/", {"done": "1", "next": "/orders/?q=1"})
    assert answer["Location"] == "/orders/?q=1"


def test_a_password_link_stops_working_once_the_login_also_works_for_another_shop(tenant, other_tenant):
    owner_a, owner_b = make_member(tenant, Role.OWNER), make_member(other_tenant, Role.OWNER)
    newcomer = staff.add_staff(
        tenant=tenant, actor=owner_a, actor_role=Role.OWNER, username="ivy", email="", role="packer"
    )
    link = staff.password_link(membership=newcomer, actor=owner_a, actor_role=Role.OWNER)
    with rls.tenant_context(other_tenant.pk):
        staff.add_staff(
            tenant=other_tenant, actor=owner_b, actor_role=Role.OWNER, username="ivy", email="", role="manager"
        )
    # Shop A's link would otherwise set the password that opens shop B
    assert b"no longer valid" in Client().get(link, follow=True).content
    Client().post(link, {"new_password1": "Str0ng-pass-99", "new_password2": "Str0ng-pass-99"}, follow=True)
    assert not get_user_model().objects.get(username="ivy").has_usable_password()


def test_the_settings_page_shows_no_email_of_a_shared_login(tenant, other_tenant):
    shared = make_member(other_tenant, Role.OWNER, username="jo-owner-b", email="jo@shop-b.example")
    Membership.objects.create(tenant=tenant, user=shared, role=Role.PACKER)
    make_member(tenant, Role.PACKER, username="kim-packer", email="kim@shop-a.example")
    page = login(make_member(tenant, Role.ADMIN), tenant).get("/settings/").content.decode()
    assert "jo-owner-b" in page and "jo@shop-b.example" not in page
    assert "kim@shop-a.example" in page

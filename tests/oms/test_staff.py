"""A shop staffs itself: owners (and admins, below owner) add people, change roles, deactivate, send links."""

import contextlib
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from oms import rls, staff
from oms.errors import DomainError
from oms.models import ApiToken, Membership, Role, StaffChange
from oms.services import create_api_token
from tests.concurrency import run_together
from tests.conftest import login
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def test_owner_adds_a_packer_who_sets_a_password_through_the_one_time_link(tenant, client):
    owner = make_member(tenant, Role.OWNER)
    page = login(owner, tenant).post(
        reverse("oms:staff"), {"username": "pat.packer", "email": "pat@example.test", "role": "packer"}
    )
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="password-link"' in html
    link = html.split('class="token">')[1].split("<")[0]
    membership = Membership.objects.get(user__username="pat.packer")
    assert (membership.role, membership.is_active) == ("packer", True)
    form = client.get(link, follow=True)
    assert b"Set your password" in form.content
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "Str0ng-pass-99", "new_password2": "Str0ng-pass-99"}
    )
    assert done.status_code == 302
    assert get_user_model().objects.get(username="pat.packer").check_password("Str0ng-pass-99")
    assert b"no longer valid" in Client().get(link, follow=True).content  # used once
    rls.bind(tenant.pk)  # anonymous requests above left the connection unbound
    assert list(StaffChange.objects.values_list("action", flat=True).order_by("pk")) == ["added", "password_link"]


def test_deactivating_ends_sessions_and_tokens_at_once(tenant, django_capture_on_commit_callbacks):
    owner, manager = make_member(tenant, Role.OWNER), make_member(tenant, Role.OWNER)  # a second owner, with a token
    manager_client = login(manager, tenant)
    assert manager_client.get(reverse("orders:list")).status_code == 200
    session_key = manager_client.session.session_key
    token, raw = create_api_token(tenant=tenant, name="their script", actor=manager)
    membership = Membership.objects.get(user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        staff.set_active(membership=membership, actor=owner, actor_role=Role.OWNER, active=False)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    assert store(session_key=session_key).load() == {}  # gone from the database and from the cache
    assert manager_client.get(reverse("orders:list")).status_code in (302, 403)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/orders").status_code == 401
    rls.bind(tenant.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert StaffChange.objects.get(action="deactivated").details == {"tokens_revoked": 1}


def test_deactivating_with_redis_unreachable_still_ends_access(tenant, settings, django_capture_on_commit_callbacks):
    owner, manager = make_member(tenant, Role.OWNER), make_member(tenant, Role.MANAGER)
    manager_client = login(manager, tenant)
    settings.CACHES = {"default": {"BACKEND": "oms.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    membership = Membership.objects.get(user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        staff.set_active(membership=membership, actor=owner, actor_role=Role.OWNER, active=False)
    assert not Membership.objects.get(pk=membership.pk).is_active
    assert manager_client.get(reverse("orders:list")).status_code in (302, 403)


def test_role_changes_and_their_limits(tenant):
    owner, admin = make_member(tenant, Role.OWNER), make_member(tenant, Role.ADMIN)
    courier = Membership.objects.get(user=make_member(tenant, Role.COURIER))
    staff.change_role(membership=courier, actor=admin, actor_role=Role.ADMIN, role=Role.MANAGER)
    assert Membership.objects.get(pk=courier.pk).role == "manager"
    owner_membership = Membership.objects.get(user=owner)
    with pytest.raises(staff.StaffRuleBroken):  # an admin never touches an owner
        staff.change_role(membership=owner_membership, actor=admin, actor_role=Role.ADMIN, role=Role.MANAGER)
    with pytest.raises(staff.StaffRuleBroken):  # nor makes one
        staff.change_role(membership=courier, actor=admin, actor_role=Role.ADMIN, role=Role.OWNER)
    with pytest.raises(staff.StaffRuleBroken):  # nobody changes their own access
        staff.set_active(membership=owner_membership, actor=owner, actor_role=Role.OWNER, active=False)
    second_owner = make_member(tenant, Role.OWNER)
    with pytest.raises(staff.StaffRuleBroken):  # the last active owner stays
        staff.set_active(membership=owner_membership, actor=second_owner, actor_role=Role.OWNER, active=False)
        staff.set_active(
            membership=Membership.objects.get(user=second_owner), actor=owner, actor_role=Role.OWNER, active=False
        )
    assert Membership.objects.filter(role="owner", is_active=True).count() >= 1


def test_one_person_works_for_two_shops_with_a_role_in_each(tenant, other_tenant):
    owner_a, owner_b = make_member(tenant, Role.OWNER), make_member(other_tenant, Role.OWNER)
    staff.add_staff(tenant=tenant, actor=owner_a, actor_role=Role.OWNER, username="sam", email="", role=Role.MANAGER)
    rls.bind(other_tenant.pk)
    staff.add_staff(tenant=other_tenant, actor=owner_b, actor_role=Role.OWNER, username="sam", email="", role="packer")
    assert get_user_model().objects.filter(username="sam").count() == 1
    assert Membership.objects.get(tenant=other_tenant, user__username="sam").role == "packer"
    with pytest.raises(staff.StaffRuleBroken):
        staff.add_staff(
            tenant=other_tenant, actor=owner_b, actor_role=Role.OWNER, username="SAM", email="", role="courier"
        )


@pytest.mark.parametrize("username", ["", "a", "bad name", "x" * 151, "nul\x00"])
def test_bad_logins_are_refused_and_nothing_is_written(tenant, client_for, username):
    page = client_for(Role.OWNER).post(reverse("oms:staff"), {"username": username, "role": "manager"})
    assert page.status_code == 400 or (page.status_code == 200 and "errorlist" in page.content.decode())
    assert not StaffChange.objects.exists()


def test_staff_screens_by_role_and_shop(tenant, other_tenant, client_for):
    member = Membership.objects.get(user=make_member(tenant, Role.COURIER))
    for role in (Role.MANAGER, Role.PACKER, Role.COURIER):
        assert client_for(role).get(reverse("oms:staff")).status_code == 403
    assert client_for(Role.ADMIN).get(reverse("oms:staff")).status_code == 200
    assert client_for(Role.ADMIN).get(reverse("oms:staff_audit")).status_code == 403
    assert client_for(Role.OWNER).get(reverse("oms:staff_audit")).status_code == 200
    foreign = client_for(Role.OWNER, on_tenant=other_tenant)
    assert foreign.post(reverse("oms:staff_active", args=[member.pk]), {"active": "0"}).status_code == 404
    assert foreign.post(reverse("oms:staff_role", args=[member.pk]), {"role": "owner"}).status_code == 404
    rls.bind(tenant.pk)
    assert Membership.objects.get(pk=member.pk).is_active
    admin = client_for(Role.ADMIN)
    admin.post(reverse("oms:staff_role", args=[member.pk]), {"role": "owner"})
    assert Membership.objects.get(pk=member.pk).role == "courier"
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_one_time_link_can_go_by_e_mail_after_commit(tenant, other_tenant, client_for, settings):
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://oms.example"
    owner = client_for(Role.OWNER)
    page = owner.post(reverse("oms:staff"), {"username": "eve", "email": "eve@example.test", "role": "manager"})
    assert 'data-testid="email-link"' in page.content.decode()
    eve = Membership.objects.get(user__username="eve")
    url = reverse("oms:staff_password_email", args=[eve.pk])
    assert client_for(Role.MANAGER).post(url).status_code == 403
    assert client_for(Role.OWNER, on_tenant=other_tenant).post(url).status_code == 404
    assert mail.outbox == []
    answer = owner.post(url, follow=True)
    assert "on its way to eve@example.test" in answer.content.decode()
    (sent,) = mail.outbox
    assert sent.to == ["eve@example.test"] and tenant.name in sent.subject
    link = next(word for word in sent.body.split() if word.startswith("https://oms.example/"))
    assert b"Set your password" in Client().get(link.removeprefix("https://oms.example"), follow=True).content
    rls.bind(tenant.pk)
    assert StaffChange.objects.filter(action="password_link_emailed", details={"to": "eve@example.test"}).exists()

    no_mail = owner.post(reverse("oms:staff"), {"username": "nomail", "email": "", "role": "packer"})
    assert 'data-testid="email-link"' not in no_mail.content.decode()
    nomail = Membership.objects.get(user__username="nomail")
    refused = owner.post(reverse("oms:staff_password_email", args=[nomail.pk]), follow=True)
    assert "has no e-mail address" in refused.content.decode() and len(mail.outbox) == 1


def test_an_admin_cannot_take_back_a_deactivated_owner_with_a_lower_role(tenant, client_for):
    owner, dormant = make_member(tenant, Role.OWNER), make_member(tenant, Role.OWNER, username="dormant-owner")
    membership = Membership.objects.get(user=dormant)
    staff.set_active(membership=membership, actor=owner, actor_role=Role.OWNER, active=False)
    admin = make_member(tenant, Role.ADMIN)
    with pytest.raises(staff.StaffRuleBroken):  # adding again would rewrite an owner's role
        staff.add_staff(
            tenant=tenant, actor=admin, actor_role=Role.ADMIN, username="dormant-owner", email="", role=Role.PACKER
        )
    client_for(Role.ADMIN).post(reverse("oms:staff"), {"username": "dormant-owner", "role": "admin"})
    assert Membership.objects.filter(pk=membership.pk).values_list("role", "is_active").get() == ("owner", False)
    staff.add_staff(tenant=tenant, actor=owner, actor_role=Role.OWNER, username="dormant-owner", email="", role="admin")
    assert Membership.objects.filter(pk=membership.pk).values_list("role", "is_active").get() == ("admin", True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", ["deactivate", "demote"])
def test_two_owners_removing_each_other_at_once_leave_the_shop_an_owner(tenant, second):
    first_owner, second_owner = make_member(tenant, Role.OWNER), make_member(tenant, Role.OWNER)
    actions = {
        "deactivate": lambda m, actor: staff.set_active(membership=m, actor=actor, actor_role=Role.OWNER, active=False),
        "demote": lambda m, actor: staff.change_role(membership=m, actor=actor, actor_role=Role.OWNER, role="admin"),
    }

    def remove(step):
        actor, target, action = step
        with contextlib.suppress(staff.StaffRuleBroken):  # the one that comes second is refused
            action(Membership.objects.get(user=target), actor)

    steps = [(first_owner, second_owner, actions["deactivate"]), (second_owner, first_owner, actions[second])]
    run_together(remove, steps, tenant=tenant)
    rls.bind(tenant.pk)
    assert Membership.objects.filter(role=Role.OWNER, is_active=True).count() == 1


def test_a_password_link_stops_working_once_the_person_is_deactivated(tenant):
    owner = make_member(tenant, Role.OWNER)
    newcomer = staff.add_staff(
        tenant=tenant, actor=owner, actor_role=Role.OWNER, username="nia", email="", role="packer"
    )
    link = staff.password_link(membership=newcomer, actor=owner, actor_role=Role.OWNER)
    assert b"Set your password" in Client().get(link, follow=True).content
    rls.bind(tenant.pk)
    staff.set_active(membership=newcomer, actor=owner, actor_role=Role.OWNER, active=False)
    assert b"no longer valid" in Client().get(link, follow=True).content


def test_the_audit_list_names_roles_in_the_persons_language(tenant):
    owner = make_member(tenant, Role.OWNER)
    added = staff.add_staff(tenant=tenant, actor=owner, actor_role=Role.OWNER, username="pat", email="", role="packer")
    staff.change_role(membership=added, actor=owner, actor_role=Role.OWNER, role=Role.COURIER)
    client = login(owner, tenant)
    session = client.session
    session["language"] = "ru"
    session.save()
    rows = client.get(reverse("oms:staff_audit")).content.decode().split("<tbody>")[1]
    assert "Упаковщик → Курьер" in rows and "с ролью Упаковщик" in rows
    assert "packer" not in rows and "courier" not in rows


@pytest.mark.django_db(transaction=True)
def test_adding_a_new_login_twice_at_once_adds_it_once_and_refuses_the_other(tenant):
    owner = make_member(tenant, Role.OWNER)
    refused = []

    def add(_):
        try:
            staff.add_staff(
                tenant=tenant, actor=owner, actor_role=Role.OWNER, username="twice", email="", role="packer"
            )
        except staff.StaffRuleBroken as exc:  # a double click on Add: the second is told, not a 500
            refused.append(exc)

    run_together(add, [1, 2], tenant=tenant)
    rls.bind(tenant.pk)
    assert len(refused) == 1 and "already works in this shop" in refused[0].message
    assert get_user_model().objects.filter(username="twice").count() == 1
    assert list(StaffChange.objects.values_list("action", flat=True)) == ["added"]


def test_an_e_mail_too_long_to_keep_is_refused_in_the_form(tenant, client_for):
    address = "a" * 64 + "@" + ("b" * 60 + ".") * 4 + "com"  # a well-formed address of 312 characters
    page = client_for(Role.OWNER).post(
        reverse("oms:staff"), {"username": "longmail", "email": address, "role": "packer"}
    )
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not get_user_model().objects.filter(username="longmail").exists()


def test_a_token_asked_for_by_a_request_that_predates_its_makers_deactivation_is_refused(tenant):
    owner, admin = make_member(tenant, Role.OWNER), make_member(tenant, Role.ADMIN)
    client = login(admin, tenant)  # the page's role check has passed; the deactivation commits before the token
    staff.set_active(membership=Membership.objects.get(user=admin), actor=owner, actor_role=Role.OWNER, active=False)
    with pytest.raises(DomainError):
        create_api_token(tenant=tenant, name="late", actor=admin)
    assert not ApiToken.objects.exists()
    assert client.post(reverse("oms:api_token_create"), {"name": "late"}).status_code in (302, 403)


def test_a_token_asked_for_by_a_request_that_predates_its_makers_move_below_admin_is_refused(tenant):
    owner, admin = make_member(tenant, Role.OWNER), make_member(tenant, Role.ADMIN)
    staff.change_role(
        membership=Membership.objects.get(user=admin), actor=owner, actor_role=Role.OWNER, role=Role.MANAGER
    )
    with pytest.raises(DomainError, match="owners and admins"):
        create_api_token(tenant=tenant, name="late", actor=admin)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_token_made_while_its_maker_is_deactivated_is_refused_or_revoked(tenant):
    owner, admin = make_member(tenant, Role.OWNER), make_member(tenant, Role.ADMIN)
    membership = Membership.objects.get(user=admin)

    def step(which):
        if which == "deactivate":
            staff.set_active(membership=membership, actor=owner, actor_role=Role.OWNER, active=False)
        else:
            with contextlib.suppress(DomainError):
                create_api_token(tenant=tenant, name="racing", actor=admin)

    run_together(step, ["deactivate", "token"], tenant=tenant)
    rls.bind(tenant.pk)
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()

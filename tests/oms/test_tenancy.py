import pytest
from django.urls import reverse

from inventory.models import Product
from oms import rls
from oms.models import ApiToken, Role
from oms.services import create_api_token
from oms.tenancy.shortcuts import get_for_tenant_or_404
from tests.conftest import login
from tests.factories import ProductFactory, make_member

pytestmark = pytest.mark.django_db


def test_foreign_object_answers_404_like_a_missing_one(tenant, other_tenant, client_for):
    with rls.tenant_context(other_tenant.pk):
        foreign_token, _ = create_api_token(tenant=other_tenant, name="theirs")
    admin = client_for(Role.ADMIN)
    response = admin.post(reverse("oms:api_token_revoke", args=[foreign_token.pk]))
    missing = admin.post(reverse("oms:api_token_revoke", args=[foreign_token.pk + 1000]))
    assert response.status_code == 404
    assert missing.status_code == 404
    with rls.tenant_context(other_tenant.pk):
        foreign_token.refresh_from_db()
    assert foreign_token.revoked_at is None


def test_lists_show_only_the_tenants_rows(tenant, other_tenant, client_for):
    create_api_token(tenant=tenant, name="ours-token")
    with rls.tenant_context(other_tenant.pk):
        create_api_token(tenant=other_tenant, name="theirs-token")
    page = client_for(Role.ADMIN).get(reverse("oms:settings")).content.decode()
    assert "ours-token" in page
    assert "theirs-token" not in page


def test_for_tenant_manager_and_404_helper(tenant, other_tenant):
    ours = ProductFactory(tenant=tenant)
    theirs = ProductFactory(tenant=other_tenant)
    assert list(Product.objects.for_tenant(tenant)) == [ours]
    assert get_for_tenant_or_404(Product, tenant, pk=ours.pk) == ours
    from django.http import Http404

    with pytest.raises(Http404):
        get_for_tenant_or_404(Product, tenant, pk=theirs.pk)
    with pytest.raises(Http404):
        get_for_tenant_or_404(Product, tenant, pk="not-a-number")


def test_the_object_found_carries_the_callers_shop_unread(tenant, django_assert_num_queries):
    ours = ProductFactory(tenant=tenant)
    found = get_for_tenant_or_404(Product, tenant, pk=ours.pk)
    with django_assert_num_queries(0):
        assert found.tenant is tenant


def test_user_of_two_tenants_chooses_and_switches(tenant, other_tenant):
    user = make_member(tenant, Role.MANAGER)
    from oms.models import Membership

    with rls.tenant_context(other_tenant.pk):
        Membership.objects.create(tenant=other_tenant, user=user, role=Role.OWNER)
    client = login(user)
    assert client.get("/", follow=False)["Location"] == reverse("oms:choose_tenant")
    response = client.post(reverse("oms:choose_tenant"), {"tenant": other_tenant.pk})
    assert response.status_code == 302
    assert client.get("/")["Location"] == reverse("analytics:home")
    client.post(reverse("oms:choose_tenant"), {"tenant": tenant.pk})
    assert client.get("/")["Location"] == reverse("orders:list")


def test_choosing_a_tenant_one_does_not_belong_to_is_refused(tenant, other_tenant):
    user = make_member(tenant, Role.MANAGER)
    client = login(user)
    response = client.post(reverse("oms:choose_tenant"), {"tenant": other_tenant.pk}, follow=True)
    assert "Choose one of your shops" in response.content.decode()
    assert client.session.get("tenant_id") != other_tenant.pk


def test_api_token_is_stored_hashed_and_shown_once(tenant, client_for):
    admin = client_for(Role.ADMIN)
    response = admin.post(reverse("oms:api_token_create"), {"name": "shop-sync"})
    raw = response.context["new_token"]
    token = ApiToken.objects.get(tenant=tenant, name="shop-sync")
    assert raw.startswith("oms_") and raw not in token.token_hash
    assert raw not in admin.get(reverse("oms:settings")).content.decode()


def test_admin_switches_round_robin_assignment(tenant, client_for):
    admin = client_for(Role.ADMIN)
    admin.post(reverse("oms:round_robin"), {"enabled": "on"})
    tenant.refresh_from_db()
    assert tenant.round_robin_assignment
    admin.post(reverse("oms:round_robin"), {})
    tenant.refresh_from_db()
    assert not tenant.round_robin_assignment
    assert client_for(Role.MANAGER).post(reverse("oms:round_robin"), {"enabled": "on"}).status_code == 403

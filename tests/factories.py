"""Factories for test data. Tenants are made by the real service so they carry the default catalogue."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from inventory.models import Product, Warehouse
from oms import rls
from oms.models import Membership, Role
from oms.services import create_tenant
from tests.rls_support import tenant_id_of, within_tenant

PASSWORD = "test-pass-1234"


def make_tenant(slug="shop", name=None):
    return create_tenant(slug=slug, name=name or slug.title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


@within_tenant
def make_member(tenant, role=Role.MANAGER, **user_fields):
    user = UserFactory(**user_fields)
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """Creates its row inside the row's own tenant, whatever tenant the test has bound."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with rls.tenant_context(tenant_id_of(kwargs["tenant"])):
            return super()._create(model_class, *args, **kwargs)


class WarehouseFactory(TenantOwnedFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda w: f"Warehouse {w.code}")


class ProductFactory(TenantOwnedFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda p: f"Product {p.sku}")
    price = Decimal("10.00")
    barcode = factory.Sequence(lambda n: f"2000000{n:06d}")

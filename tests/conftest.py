import pytest
from django.test import Client

from oms.celery import app as celery_app
from oms.models import Role
from oms.services import create_api_token

from .factories import make_member, make_tenant


@pytest.fixture(autouse=True, scope="session")
def celery_runs_inline():
    """Tasks run in the test process; the tests of the broker path start a real worker themselves."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def tenant(db):
    return make_tenant("shop-a", "Shop A")


@pytest.fixture
def other_tenant(db):
    return make_tenant("shop-b", "Shop B")


def login(user, tenant=None) -> Client:
    client = Client()
    client.force_login(user)  # the login form itself is tested in tests/oms/test_login.py
    if tenant is not None:
        session = client.session
        session["tenant_id"] = tenant.pk
        session.save()
    return client


@pytest.fixture
def client_for(tenant):
    """`client_for(role)` → a logged-in test client of a new member of `tenant` with that role."""

    def make(role=Role.MANAGER, on_tenant=None):
        target = on_tenant or tenant
        return login(make_member(target, role), target)

    return make


@pytest.fixture
def api_client(tenant):
    _, raw = create_api_token(tenant=tenant, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def other_api_client(other_tenant):
    _, raw = create_api_token(tenant=other_tenant, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs ~100 ms per login; the tests check access rules, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


APP_ROLE = "oms_app_test"


@pytest.fixture
def app_role(settings):
    """The rest of the test runs as a role that is neither owner nor superuser, as production does."""
    from django.db import connection

    from oms import rls

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS")
        for statement in rls.grant_sql(APP_ROLE):
            cursor.execute(statement)
    settings.DATABASE_APP_ROLE = APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {APP_ROLE}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")

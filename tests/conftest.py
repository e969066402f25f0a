import fcntl
import tempfile
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from oms import rls
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
    """Shop A, bound to the test's connection: what the test builds and reads is Shop A's unless it says otherwise."""
    shop = make_tenant("shop-a", "Shop A")
    rls.bind(shop.pk)
    return shop


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
    with rls.tenant_context(other_tenant.pk):
        _, raw = create_api_token(tenant=other_tenant, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(autouse=True)
def default_language():
    """Django activates a request's language in the thread and never resets it: after a Russian page, a service
    called by the next test would answer in Russian. Each test starts, as a background task does, in the default."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs ~100 ms per login; the tests check access rules, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def one_database_setup_at_a_time():
    """The roles and their grants belong to the whole PostgreSQL server: parallel workers (pytest-xdist), each
    migrating its own test database, would create and grant them at the same moment and collide."""
    with open(Path(tempfile.gettempdir()) / "oms-test-database-setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield lock


@pytest.fixture(scope="session")
def django_db_setup(one_database_setup_at_a_time, django_db_setup, django_db_blocker):
    """Migrations ran as the owner, and post_migrate made the application role with its grants and the policies.
    From here on every connection of the suite logs in as that role, so row-level security binds every test."""
    from django.conf import settings
    from django.db import connections

    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        # Transactional tests empty the tables between tests; TRUNCATE lifts no row-level wall.
        cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {settings.DATABASE_APP_ROLE}")
    fcntl.flock(one_database_setup_at_a_time, fcntl.LOCK_UN)
    db = connections["default"].settings_dict
    OWNER_LOGIN.update(USER=db["USER"], PASSWORD=db["PASSWORD"])
    connections.close_all()
    db["USER"], db["PASSWORD"] = settings.DATABASE_APP_ROLE, settings.DATABASE_APP_PASSWORD
    yield
    connections.close_all()
    db.update(OWNER_LOGIN)


OWNER_LOGIN: dict[str, str] = {}


@pytest.fixture
def as_database_owner(transactional_db):
    """Maintenance (seed_bulk's index rebuild) logs in as the owner, as `migrate` does; back to the app role after."""
    from django.db import connections

    db = connections["default"].settings_dict
    app_login = {"USER": db["USER"], "PASSWORD": db["PASSWORD"]}
    connections.close_all()
    db.update(OWNER_LOGIN)
    yield
    connections.close_all()
    db.update(app_login)

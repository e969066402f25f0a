import pytest

from oms import rls
from tests.factories import make_tenant


@pytest.fixture
def shop(transactional_db, request):
    """A shop of the module's own (named after it), bound as a request binds its shop: for the tests of the
    database layer, which commit for real."""
    tenant = make_tenant(request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-"))
    rls.bind(tenant.pk)
    yield tenant
    rls.bind(None)

import json

from oms.actors import Actor
from oms.errors import DomainError
from oms.tenancy.roles import ADMIN, MANAGER, OWNER, PACKER

WAREHOUSE_STAFF = (OWNER, MANAGER, PACKER)
DOCUMENT_ROLES = (OWNER, ADMIN, MANAGER, PACKER)


def attempt(request, action):
    """Run a service; a domain error becomes (False, message) with nothing written."""
    try:
        return True, action(Actor.of_request(request))
    except DomainError as exc:
        return False, exc.message


def trigger(response, event: str, detail: dict | None = None):
    """Tell the page's script what happened (HX-Trigger), e.g. to play the error sound."""
    response["HX-Trigger"] = json.dumps({event: detail or {}})
    return response

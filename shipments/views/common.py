import json

from oms.tenancy.roles import ADMIN, MANAGER, OWNER, PACKER

WAREHOUSE_STAFF = (OWNER, MANAGER, PACKER)
DOCUMENT_ROLES = (OWNER, ADMIN, MANAGER, PACKER)


def trigger(response, event: str, detail: dict | None = None):
    """Tell the page's script what happened (HX-Trigger), e.g. to play the error sound."""
    response["HX-Trigger"] = json.dumps({event: detail or {}})
    return response

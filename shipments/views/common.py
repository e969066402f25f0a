import json

from django.utils.translation import gettext

from oms.tenancy.roles import ADMIN, MANAGER, OWNER, PACKER

WAREHOUSE_STAFF = (OWNER, MANAGER, PACKER)
DOCUMENT_ROLES = (OWNER, ADMIN, MANAGER, PACKER)


def no_order(code: str) -> str:
    """The scan answer for a code that is no order of this shop."""
    return gettext("No order '%(code)s'.") % {"code": code.strip()[:40]}


def trigger(response, event: str, detail: dict | None = None):
    """Tell the page's script what happened (HX-Trigger), e.g. to play the error sound."""
    response["HX-Trigger"] = json.dumps({event: detail or {}})
    return response

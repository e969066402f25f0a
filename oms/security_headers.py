"""The Content-Security-Policy header (django-csp), built once instead of on every response."""

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings


class CSPMiddleware(LibraryCSPMiddleware):
    """django-csp builds the policy from the settings again for every response: some 4 % of an API call's CPU.
    Without a nonce asked for, a view's own policy, a report-only policy or excluded paths (none is used today), the
    header is the same every time; anything else goes through django-csp as it comes."""

    _built_for, _built = None, ""

    def _fixed_policy(self) -> str:
        config = settings.CONTENT_SECURITY_POLICY  # built again only if the setting is replaced (tests do)
        if self._built_for is not config:
            self._built_for, self._built = config, build_policy()
        return self._built

    def process_response(self, request, response):
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(name.startswith("_csp_") for name in vars(response))  # a view's decorator changed or dropped it
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES")
        ):
            return super().process_response(request, response)
        if HEADER not in response:
            response[HEADER] = self._fixed_policy()
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # as django-csp: no nonce after this
        return response

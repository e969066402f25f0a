from oms.errors import DomainError
from oms.http import UnsafeUrl


class InvalidUrl(UnsafeUrl):
    """Not an http(s) URL, or one whose host resolves to an internal address (the guarded client's refusal)."""

    code = "invalid_url"
    field = "url"


class TemplateRefused(DomainError):
    """The text uses something outside the documented variables and syntax; the message names it."""

    code = "invalid_template"


class TemplateFailed(DomainError):
    """A stored text could not be rendered (refused, too long, too slow, or an error while rendering)."""

    code = "template_failed"


class RuleError(DomainError):
    """A trigger condition that cannot be tested: a value that is no number, an unknown operator."""

    code = "invalid_rule"

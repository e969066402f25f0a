"""Domain errors: refusals a user can act on, raised by services when nothing was written.

Each carries a machine `code`, a `message` for people and `details`; `status` is the API's answer and `field` the
input the error is about. The API turns them into the contract's error body in one handler (`oms.api`), pages
into a message or a form error in one helper (`oms.pages.run_service`). Each app declares its own in
`<app>/errors.py`.
"""


class DomainError(Exception):
    code = "invalid"
    status = 422
    field: str | None = None  # the service argument (and form field) the error is about, when there is one

    def __init__(self, message: str, *, details: dict | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.field = field or self.details.get("field") or type(self).field


class Conflict(DomainError):
    code = "conflict"
    status = 409


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415

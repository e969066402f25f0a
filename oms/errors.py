"""Domain errors: values a user can act on. Views turn them into messages, the API into error codes."""


class DomainError(Exception):
    code = "invalid"
    status = 422

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Conflict(DomainError):
    code = "conflict"
    status = 409

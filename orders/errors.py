from oms.errors import Conflict, DomainError


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class TransitionBlocked(Conflict):
    code = "transition_blocked"

    def __init__(self, message: str, *, reasons: list[str]):
        super().__init__(message, details={"reasons": reasons})
        self.reasons = reasons


class NothingToSplit(Conflict):
    code = "nothing_to_split"


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"


class EditNotAllowed(Conflict):
    code = "edit_not_allowed"


class FieldNotAllowed(DomainError):
    code = "field_not_allowed"
    status = 403


class InvalidOrder(DomainError):
    code = "invalid"


class DuplicateStatus(Conflict):
    code = "duplicate_status"
    field = "code"


class InvalidMerge(DomainError):
    code = "invalid"


class PurposeTaken(Conflict):
    code = "purpose_taken"
    field = "purpose"


class PurposeNotAllowed(DomainError):
    code = "invalid_purpose"
    field = "purpose"


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    field = "amount"


class InvalidPayment(DomainError):
    code = "invalid"
    field = "amount"

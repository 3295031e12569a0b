"""One exception class per failure of the API (docs/api.md, "Errors").

The domain raises these; the HTTP edge (``approval_core.api.http``) is the one place that
turns them into status codes and bodies. Nothing here knows about HTTP beyond the status number
the contract assigns to each code.
"""

from __future__ import annotations

from dataclasses import dataclass

EXCERPT_LENGTH = 40


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """A client's input as an error message quotes it: at most ``limit`` characters, so that no
    answer echoes a large input back."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


@dataclass(frozen=True)
class ErrorDetail:
    message: str
    field: str | None = None
    type: str | None = None


class ApprovalError(Exception):
    """A request the service refuses, with the contract's status and errorCode."""

    status: int = 400
    error_code: str | None = None
    default_message: str = "Bad Request"

    def __init__(self, message: str | None = None, details: list[ErrorDetail] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or []
        super().__init__(self.message)


# --------------------------------------------------------------------------- authentication
class InvalidAccessToken(ApprovalError):
    status = 401
    default_message = "Invalid access token"


class Forbidden(ApprovalError):
    """Valid token, but a scope is missing or the tenant is not the token's."""

    status = 403
    default_message = "Forbidden"


class PayloadTooLarge(ApprovalError):
    status = 413
    default_message = "Request body is too large"


# --------------------------------------------------------------------------- 400
class ValidationFailed(ApprovalError):
    error_code = "APPROVAL-400001"
    default_message = "Problem with validation"


class StatusChangeNotAllowed(ApprovalError):
    error_code = "APPROVAL-400002"
    default_message = "The status cannot be changed to the new value"


class InvalidStatusValue(ApprovalError):
    error_code = "APPROVAL-400003"
    default_message = "Incorrect value of the approval status"


class ResourceTypeActionMismatch(ApprovalError):
    """Rule 14: a resource type and action the tenant does not approve (QUOTE while the tenant's
    quote approvals are switched off). Unknown values are refused by the models first (400001)."""

    error_code = "APPROVAL-400004"
    default_message = "Resource type and action do not match"


class AlreadyApproved(ApprovalError):
    error_code = "APPROVAL-400005"
    default_message = "The approval has already been given for this resource"


class ApproverNotAssignable(ApprovalError):
    error_code = "APPROVAL-400006"
    default_message = "The given approver cannot be assigned"


class PatchPathNotSupported(ApprovalError):
    error_code = "APPROVAL-400007"
    default_message = "Patch operation not supported"


class NoPermission(ApprovalError):
    error_code = "APPROVAL-400008"
    default_message = "Caller has no permission to the resource"


class ApprovalFinished(ApprovalError):
    error_code = "APPROVAL-400009"
    default_message = "The approval process has finished; the approval cannot be updated"


class InvalidPatchOperation(ApprovalError):
    error_code = "APPROVAL-400010"
    default_message = "Incorrect patch operation"


class NoCompany(ApprovalError):
    error_code = "APPROVAL-400011"
    default_message = "Caller is not assigned to any company"


class CreatedResourceAlreadySet(ApprovalError):
    """Rule 16: ``createdResource`` is set once."""

    error_code = "APPROVAL-400015"
    default_message = "The approval already records the order it was used for"


class ApproverAboveOwnLimit(ApprovalError):
    """Rule 28: the approver's own approval limit is below the cart's total."""

    error_code = "APPROVAL-400012"
    default_message = "The approver's own approval limit is below the total of the resource"


class AlreadyDecided(ApprovalError):
    """Rule 26: nobody approves twice."""

    error_code = "APPROVAL-400013"
    default_message = "The caller has already approved this approval"


class TierNotCurrent(ApprovalError):
    """Rule 26: an approver acts only on a current tier, not before their tier or after it."""

    error_code = "APPROVAL-400014"
    default_message = "The caller is not an approver of a current tier of the approval"


class PolicyNotFound(ApprovalError):
    status = 404
    default_message = "No such approval policy"


class PolicyAlreadyExists(ApprovalError):
    status = 409
    default_message = "A policy with this id exists"


# --------------------------------------------------------------------------- 404
class ApprovalNotFound(ApprovalError):
    status = 404
    error_code = "APPROVAL-404001"
    default_message = "Approval does not exist"


class ResourceNotFound(ApprovalError):
    status = 404
    error_code = "APPROVAL-404002"
    default_message = "The resource does not exist"


class CompanyNotFound(ApprovalError):
    status = 404
    error_code = "APPROVAL-404003"
    default_message = "The caller's company does not exist"


# --------------------------------------------------------------------------- 409
class ApprovalAlreadyExists(ApprovalError):
    status = 409
    error_code = "APPROVAL-409001"
    default_message = "Approval already exists"


class ConcurrentModification(ApprovalError):
    status = 409
    error_code = "APPROVAL-409002"
    default_message = "The approval was modified concurrently; re-read and retry"


class IdempotencyKeyInProgress(ApprovalError):
    status = 409
    default_message = "A request with this Idempotency-Key is still in progress; retry shortly"


class IdempotencyKeyReused(ApprovalError):
    status = 422
    default_message = "This Idempotency-Key was used with a different request body"


class StaleDirectoryWrite(ApprovalError):
    """A directory write older than what is stored: nothing was written."""

    status = 409
    default_message = "A newer version of this entry is stored; nothing was written"


class DirectoryEntryNotFound(ApprovalError):
    status = 404
    default_message = "No such directory entry"


class InvalidWebhookSignature(ApprovalError):
    """The emporix-event-signature header is missing or does not match the tenant's secret."""

    status = 401
    default_message = "Invalid or missing webhook signature"


# --------------------------------------------------------------------------- 503
class ServiceBusy(ApprovalError):
    """The database is throttling, unavailable or contended; nothing was written. Retry."""

    status = 503
    default_message = "The service is busy; retry shortly"

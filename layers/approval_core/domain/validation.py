"""Validation of documents against the models, as the contract's 400001 details."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from approval_core.domain.errors import ErrorDetail, ValidationFailed
from approval_core.domain.models import CreateApprovalRequest

ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_FIELD_LENGTH = 200


def validate(document: Any, model: type[ModelT], prefix: str = "") -> ModelT:
    """``document`` as ``model``, or APPROVAL-400001 with one detail per problem, naming its field."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ValidationFailed(details=list(_details(error.errors(), prefix))) from None


def _details(errors: Iterable[Mapping[str, Any]], prefix: str) -> Iterable[ErrorDetail]:
    for error in errors:
        # Member names are the client's text: quote no more of them than a reader needs.
        field = (prefix + ".".join(str(part) for part in error["loc"]))[:MAX_FIELD_LENGTH] or "body"
        kind = error["type"]
        if kind == "missing":
            text = "cannot be null"
        else:
            text = str(error["msg"]).replace("Input should be", "must be").replace("Value error, ", "")
        yield ErrorDetail(field=field, type=kind, message=f"{field}: {text}")


def create_request(document: Any) -> CreateApprovalRequest:
    """A create body as CreateApprovalRequest. ``approver`` may be left out where an approval
    policy matches (rule 25), which only the service can tell; a body refused for other reasons
    still names a missing approver among its details, as the contract always did."""
    try:
        return validate(document, CreateApprovalRequest)
    except ValidationFailed as refused:
        if not isinstance(document, Mapping) or document.get("approver") is None:
            refused.details.append(ErrorDetail(field="approver", type="missing", message="approver: cannot be null"))
        raise

"""The request body: as sent (what a webhook's signature covers), as JSON, as a model; every
problem is APPROVAL-400001 naming the field."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from approval_core.adapters.item_limits import NUMBER_LIMITS, storable_number
from approval_core.api.routing import GatewayEvent
from approval_core.domain.errors import ErrorDetail, ValidationFailed
from approval_core.domain.validation import MAX_FIELD_LENGTH, validate
from approval_core.json_text import loads

if TYPE_CHECKING:
    from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound="BaseModel")

# A request body nested deeper than this cannot fit DynamoDB's 32 levels once it is part of the
# approval (the adapter checks the item itself before it writes: item_limits).
MAX_BODY_DEPTH = 24
NESTED_TOO_DEEP = f"body: nested more than {MAX_BODY_DEPTH} levels deep"


def parse_body(event: GatewayEvent, model: type[ModelT]) -> ModelT:
    """The request body as ``model``; any problem is APPROVAL-400001 naming the field."""
    return validate(parse_json(event), model)


def raw_body(event: GatewayEvent) -> bytes:
    """The body exactly as sent (what a webhook's signature covers)."""
    return body_bytes(event)


def body_bytes(event: GatewayEvent) -> bytes:
    """The body as sent: API Gateway base64-encodes bodies that are not text."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def parse_json(event: GatewayEvent) -> Any:
    """The request body as JSON, numbers as ``Decimal``; APPROVAL-400001 when it is not JSON, not
    UTF-8, or holds a number DynamoDB cannot store.

    API Gateway base64-encodes every body whose Content-Type is not text, JSON, XML or JavaScript
    (a JSON body sent without Content-Type, say): ``decoded_body`` undoes that."""
    try:
        raw = event.decoded_body or ""
    except (UnicodeDecodeError, binascii.Error):
        raise ValidationFailed("The request body is not UTF-8 text", [ErrorDetail(message="body: not UTF-8")]) from None
    if not raw:
        raise ValidationFailed("The request body is empty", [ErrorDetail(message="body: cannot be null")])
    try:
        document = loads(raw)
    except RecursionError:
        raise ValidationFailed(details=[ErrorDetail(message=NESTED_TOO_DEEP)]) from None
    except ValueError as error:  # simplejson's JSONDecodeError is one
        raise ValidationFailed(
            "Malformed JSON",
            [ErrorDetail(message=f"body: malformed JSON ({error.args[0] if error.args else ''})")],
        ) from None
    _check_storable(document)
    return document


def _check_storable(document: Any) -> None:
    """APPROVAL-400001 for what DynamoDB would refuse; iterative, so no depth can overflow it."""
    pending: list[tuple[Any, str, int]] = [(document, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_BODY_DEPTH:
            raise ValidationFailed(details=[ErrorDetail(message=NESTED_TOO_DEEP)])
        if isinstance(value, dict):
            pending.extend((member, f"{path}.{name}", depth + 1) for name, member in value.items())
        elif isinstance(value, list):
            pending.extend((member, f"{path}.{index}", depth + 1) for index, member in enumerate(value))
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool) and not storable_number(Decimal(value)):
            field = path.removeprefix(".")[:MAX_FIELD_LENGTH]
            raise ValidationFailed(details=[ErrorDetail(field=field, message=f"{field}: {NUMBER_LIMITS}")])

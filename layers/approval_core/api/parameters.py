"""The directory API's parameters: a write's revision (query string) and ids bound for DynamoDB
keys (path). Imported only by the functions that read them (``approval_core.api.http``
re-exports these names lazily): the directory's models are no part of the approval functions'
cold start."""

from __future__ import annotations

import re
from decimal import Decimal

from approval_core.api.routing import GatewayEvent
from approval_core.domain.directory import RevisionQuery
from approval_core.domain.errors import ErrorDetail, ValidationFailed
from approval_core.domain.validation import validate

PATH_ID = re.compile(r"^[^#\s/]{1,128}$")


def validate_path_id(value: str, name: str) -> None:
    """Ids end up in DynamoDB keys: 1 to 128 characters, no '#', no white space."""
    if not PATH_ID.match(value):
        message = f"{name}: must be 1 to 128 characters without '#' or white space"
        raise ValidationFailed(message, [ErrorDetail(field=name, message=message)])


def parse_revision(event: GatewayEvent) -> Decimal | None:
    """The ``version`` or ``modifiedAt`` query parameter of a directory write, as its revision."""
    params = event.query_string_parameters
    wanted = {name: params[name] for name in ("version", "modifiedAt") if params.get(name)}
    return validate(wanted, RevisionQuery).revision()

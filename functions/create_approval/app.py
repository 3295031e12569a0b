"""POST /approval/{tenant}/approvals: ask an approver to approve a cart.

With an ``Idempotency-Key`` header, a retried request (same caller, key and body) gets the first
one's answer and creates nothing more (Powertools idempotency, records in the IdempotencyTable).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from approval_core.api.http import (
    MANAGE_SCOPES,
    Response,
    authorize,
    json_response,
    lambda_entry_point,
    new_resolver,
    parse_json,
)
from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service, dynamodb_client
from approval_core.domain.caller import Caller
from approval_core.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from approval_core.domain.models import CreateApprovalRequest
from approval_core.domain.validation import create_request

config = settings()
service = approval_service()
app = new_resolver()
idempotency = IdempotencyConfig(
    event_key_jmespath="key", payload_validation_jmespath="body", expires_after_seconds=24 * 3600
)
persistence = DynamoDBPersistenceLayer(
    table_name=config.idempotency_table_name or "IdempotencyTable", boto3_client=dynamodb_client()
)


@app.gateway_route("POST /approval/{tenant}/approvals")
@tracer.capture_method(capture_response=False)
def create_approval(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, MANAGE_SCOPES)
    body = parse_json(app.current_event)
    request = create_request(body)
    key = app.current_event.headers.get("idempotency-key")
    if key is None:
        return json_response(201, create(caller, request))
    try:
        # The key is the caller's own: another customer's identical key is another request.
        once = {"key": f"{tenant}#{caller.user_id}#{key}", "body": body}
        return json_response(201, create_once(caller, request, once=once))
    except IdempotencyValidationError:
        raise IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyKeyInProgress() from None


def create(caller: Caller, request: CreateApprovalRequest, once: dict[str, Any] | None = None) -> dict[str, str]:
    """``once`` identifies an Idempotency-Key request (key and body) for ``create_once``."""
    approval_id = service.create_approval(caller, request)
    metrics.add_metric(name="ApprovalCreated", unit=MetricUnit.Count, value=1)
    logger.info("Approval created", extra={"approvalId": approval_id, "tenant": caller.tenant})
    return {"id": approval_id}


create_once = idempotent_function(data_keyword_argument="once", persistence_store=persistence, config=idempotency)(
    create
)

lambda_handler = lambda_entry_point(app, on_invoke=idempotency.register_lambda_context)

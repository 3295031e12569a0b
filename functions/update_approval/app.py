"""PATCH /approval/{tenant}/approvals/{approvalId}: JSON Patch by a participant (approve, decline, edit)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.http import MANAGE_SCOPES, authorize, json_response, new_resolver, parse_json
from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service

config = settings()
service = approval_service()
app = new_resolver()


@app.patch("/approval/<tenant>/approvals/<approval_id>")
@tracer.capture_method(capture_response=False)
def update_approval(tenant: str, approval_id: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, MANAGE_SCOPES)
    body = parse_json(app.current_event)
    service.update_approval(caller, approval_id, body, if_match=app.current_event.headers.get("if-match"))
    metrics.add_metric(name="ApprovalUpdated", unit=MetricUnit.Count, value=1)
    return json_response(204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""POST /approval/{tenant}/search/users: who in the caller's company could approve this cart."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import READ_SCOPES, authorize, json_response, new_resolver, parse_body
from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service
from approval_core.domain.models import ResourceQuery

config = settings()
service = approval_service()
app = new_resolver()


@app.post("/approval/<tenant>/search/users")
@tracer.capture_method(capture_response=False)
def search_users(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, READ_SCOPES)
    candidates = service.search_approvers(caller, parse_body(app.current_event, ResourceQuery))
    metrics.add_metric(name="ApproversSearched", unit=MetricUnit.Count, value=1)
    return json_response(200, [candidate.model_dump(mode="python", exclude_none=True) for candidate in candidates])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""POST /approval/{tenant}/approvals/bulk: one decision for up to 50 approvals, each decided on its
own as its PATCH would decide it (rules 20 and 21); 200 with each approval's outcome."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import (
    MANAGE_SCOPES,
    Response,
    authorize,
    error_body,
    json_response,
    lambda_entry_point,
    new_resolver,
    parse_body,
)
from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service
from approval_core.domain.bulk import BulkDecisionRequest

config = settings()
service = approval_service()
app = new_resolver()


@app.gateway_route("POST /approval/{tenant}/approvals/bulk")
@tracer.capture_method(capture_response=False)
def decide_approvals(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, MANAGE_SCOPES)
    request = parse_body(app.current_event, BulkDecisionRequest)
    outcomes = service.decide_approvals(caller, request)
    refused = [outcome.error for outcome in outcomes if outcome.error is not None]
    metrics.add_metric(name="ApprovalUpdated", unit=MetricUnit.Count, value=len(outcomes) - len(refused))
    if refused:
        codes = sorted({error.error_code or str(error.status) for error in refused})
        logger.info("Bulk decision refused some approvals", extra={"refused": len(refused), "errorCodes": codes})
        metrics.add_metric(name="RequestRefused", unit=MetricUnit.Count, value=len(refused))
    results = [
        {"approvalId": outcome.approvalId, "code": 204}
        if outcome.error is None
        else {"approvalId": outcome.approvalId, "code": outcome.error.status, "error": error_body(outcome.error)}
        for outcome in outcomes
    ]
    return json_response(200, {"results": results})


lambda_handler = lambda_entry_point(app)

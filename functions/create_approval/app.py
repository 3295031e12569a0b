"""POST /approval/{tenant}/approvals: ask an approver to approve a cart."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import MANAGE_SCOPES, authorize, json_response, lambda_entry_point, new_resolver, parse_body
from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service
from approval_core.domain.models import CreateApprovalRequest

config = settings()
service = approval_service()
app = new_resolver()


@app.post("/approval/<tenant>/approvals")
@tracer.capture_method(capture_response=False)
def create_approval(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, MANAGE_SCOPES)
    request = parse_body(app.current_event, CreateApprovalRequest)
    approval_id = service.create_approval(caller, request)
    metrics.add_metric(name="ApprovalCreated", unit=MetricUnit.Count, value=1)
    logger.info("Approval created", extra={"approvalId": approval_id, "tenant": tenant})
    return json_response(201, {"id": approval_id})


lambda_handler = lambda_entry_point(app)

"""GET /approval/{tenant}/approvals/{approvalId}: one approval, for its participants."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import READ_SCOPES, Response, authorize, json_response, lambda_entry_point, new_resolver
from approval_core.api.observability import metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service

config = settings()
service = approval_service()
app = new_resolver()


@app.gateway_route("GET /approval/{tenant}/approvals/{approvalId}")
@tracer.capture_method(capture_response=False)
def get_approval(tenant: str, approval_id: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, READ_SCOPES)
    approval = service.get_approval(caller, approval_id)
    metrics.add_metric(name="ApprovalRead", unit=MetricUnit.Count, value=1)
    return json_response(200, approval.model_dump(mode="python", exclude_none=True))


lambda_handler = lambda_entry_point(app)

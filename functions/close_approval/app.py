"""DELETE /approval/{tenant}/approvals/{approvalId}: the requestor closes a PENDING approval."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import MANAGE_SCOPES, Response, authorize, lambda_entry_point, new_resolver, no_content
from approval_core.api.observability import metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service

config = settings()
service = approval_service()
app = new_resolver()


@app.gateway_route("DELETE /approval/{tenant}/approvals/{approvalId}")
@tracer.capture_method(capture_response=False)
def close_approval(tenant: str, approval_id: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, MANAGE_SCOPES)
    service.close_approval(caller, approval_id)
    metrics.add_metric(name="ApprovalClosed", unit=MetricUnit.Count, value=1)
    return no_content()


lambda_handler = lambda_entry_point(app)

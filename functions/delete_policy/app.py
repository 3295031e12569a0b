"""DELETE /approval/{tenant}/policies/{policyId}: take a policy out; approvals that matched it keep their snapshot."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import (
    POLICY_SCOPES,
    Response,
    authorize,
    lambda_entry_point,
    new_resolver,
    no_content,
)
from approval_core.api.observability import metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import policy_service

config = settings()
service = policy_service()
app = new_resolver()


@app.gateway_route("DELETE /approval/{tenant}/policies/{policyId}")
@tracer.capture_method(capture_response=False)
def delete_policy(tenant: str, policy_id: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, POLICY_SCOPES)
    service.delete_policy(caller, policy_id)
    metrics.add_metric(name="PolicyDeleted", unit=MetricUnit.Count, value=1)
    return no_content()


lambda_handler = lambda_entry_point(app)

"""PUT /approval/{tenant}/policies/{policyId}: replace a policy (If-Match: its metadata.version);
approvals that matched it keep their snapshot."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import (
    POLICY_SCOPES,
    Response,
    authorize,
    json_response,
    lambda_entry_point,
    new_resolver,
    parse_json,
)
from approval_core.api.observability import metrics, tracer
from approval_core.api.policies import policy_document
from approval_core.api.settings import settings
from approval_core.api.wiring import policy_service

config = settings()
service = policy_service()
app = new_resolver()


@app.gateway_route("PUT /approval/{tenant}/policies/{policyId}")
@tracer.capture_method(capture_response=False)
def replace_policy(tenant: str, policy_id: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, POLICY_SCOPES)
    body = parse_json(app.current_event)
    policy = service.replace_policy(caller, policy_id, body, if_match=app.current_event.headers.get("if-match"))
    metrics.add_metric(name="PolicyWritten", unit=MetricUnit.Count, value=1)
    return json_response(200, policy_document(policy))


lambda_handler = lambda_entry_point(app)

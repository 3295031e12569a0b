"""POST /approval/{tenant}/policies: store an approval policy of a company (rule 23 checks it)."""

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


@app.gateway_route("POST /approval/{tenant}/policies")
@tracer.capture_method(capture_response=False)
def create_policy(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, POLICY_SCOPES)
    policy = service.create_policy(caller, parse_json(app.current_event))
    metrics.add_metric(name="PolicyWritten", unit=MetricUnit.Count, value=1)
    return json_response(201, policy_document(policy))


lambda_handler = lambda_entry_point(app)

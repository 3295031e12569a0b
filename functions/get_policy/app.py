"""GET /approval/{tenant}/policies/{policyId}: one policy, for an operator or an admin of its company."""

from __future__ import annotations

from approval_core.api.http import (
    POLICY_SCOPES,
    Response,
    authorize,
    json_response,
    lambda_entry_point,
    new_resolver,
)
from approval_core.api.observability import tracer
from approval_core.api.policies import policy_document
from approval_core.api.settings import settings
from approval_core.api.wiring import policy_service

config = settings()
service = policy_service()
app = new_resolver()


@app.gateway_route("GET /approval/{tenant}/policies/{policyId}")
@tracer.capture_method(capture_response=False)
def get_policy(tenant: str, policy_id: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, POLICY_SCOPES)
    return json_response(200, policy_document(service.get_policy(caller, policy_id)))


lambda_handler = lambda_entry_point(app)

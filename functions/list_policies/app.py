"""GET /approval/{tenant}/policies: the policies the caller manages (an operator: all of the tenant's)."""

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


@app.gateway_route("GET /approval/{tenant}/policies")
@tracer.capture_method(capture_response=False)
def list_policies(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, POLICY_SCOPES)
    return json_response(200, [policy_document(policy) for policy in service.list_policies(caller)])


lambda_handler = lambda_entry_point(app)

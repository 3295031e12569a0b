"""GET /approval/{tenant}/approvals: the caller's approvals, filtered, sorted and paged."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import (
    READ_SCOPES,
    Response,
    authorize,
    json_response,
    lambda_entry_point,
    new_resolver,
    parse_list_request,
)
from approval_core.api.observability import metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service

config = settings()
service = approval_service()
app = new_resolver()


@app.gateway_route("GET /approval/{tenant}/approvals")
@tracer.capture_method(capture_response=False)
def list_approvals(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, READ_SCOPES)
    page = service.list_approvals(caller, parse_list_request(app.current_event))
    metrics.add_metric(name="ApprovalsListed", unit=MetricUnit.Count, value=1)
    headers = {} if page.total is None else {"X-Total-Count": str(page.total)}
    return json_response(200, page.approvals, headers=headers)


lambda_handler = lambda_entry_point(app)

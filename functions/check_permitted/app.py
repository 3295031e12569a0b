"""POST /approval/{tenant}/approval/permitted: may the caller check this cart out now?"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.http import (
    READ_SCOPES,
    Response,
    authorize,
    json_response,
    lambda_entry_point,
    new_resolver,
    parse_body,
)
from approval_core.api.observability import metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import approval_service
from approval_core.domain.models import ResourceQuery

config = settings()
service = approval_service()
app = new_resolver()


@app.gateway_route("POST /approval/{tenant}/approval/permitted")
@tracer.capture_method(capture_response=False)
def check_permitted(tenant: str) -> Response[str]:
    caller = authorize(app.current_event, config, tenant, READ_SCOPES)
    answer = service.permitted(caller, parse_body(app.current_event, ResourceQuery))
    metrics.add_metric(name="PermittedChecked", unit=MetricUnit.Count, value=1)
    return json_response(200, answer.model_dump(mode="python", exclude_none=True))


lambda_handler = lambda_entry_point(app)

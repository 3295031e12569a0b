"""PUT /directory/{tenant}/{kind}/{id} (kind: customers, companies, carts): store one directory
entry, in the seed file's shape, for the commerce platform's machine client."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from approval_core.api.directory import entry_kind, time_left, write_response
from approval_core.api.http import (
    DIRECTORY_SCOPES,
    Response,
    authorize,
    lambda_entry_point,
    new_resolver,
    parse_json,
    validate_path_id,
)
from approval_core.api.observability import metrics, tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import directory_feed

config = settings()
feed = directory_feed()
app = new_resolver()


@app.gateway_route("PUT /directory/{tenant}/{kind}/{id}", id="entry_id")
@tracer.capture_method(capture_response=False)
def put_entry(tenant: str, kind: str, entry_id: str) -> Response[str]:
    authorize(app.current_event, config, tenant, DIRECTORY_SCOPES)
    entries = entry_kind(kind)
    validate_path_id(entry_id, "id")
    result = feed.put(tenant, entries, entry_id, parse_json(app.current_event), time_left(app))
    metrics.add_metric(name="DirectoryEntryWritten", unit=MetricUnit.Count, value=1)
    return write_response(entry_id, result)


lambda_handler = lambda_entry_point(app)

"""GET /directory/{tenant}/{kind}/{id} (kind: customers, companies, carts): what the directory
holds for one entry, for support."""

from __future__ import annotations

from approval_core.api.directory import entry_kind
from approval_core.api.http import (
    DIRECTORY_SCOPES,
    Response,
    authorize,
    json_response,
    lambda_entry_point,
    new_resolver,
    validate_path_id,
)
from approval_core.api.observability import tracer
from approval_core.api.settings import settings
from approval_core.api.wiring import directory_feed

config = settings()
feed = directory_feed()
app = new_resolver()


@app.gateway_route("GET /directory/{tenant}/{kind}/{id}", id="entry_id")
@tracer.capture_method(capture_response=False)
def get_entry(tenant: str, kind: str, entry_id: str) -> Response[str]:
    authorize(app.current_event, config, tenant, DIRECTORY_SCOPES)
    entries = entry_kind(kind)
    validate_path_id(entry_id, "id")
    return json_response(200, feed.get(tenant, entries, entry_id))


lambda_handler = lambda_entry_point(app)

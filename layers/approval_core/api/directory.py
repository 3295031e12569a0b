"""What the directory API's functions share: the entry kind of the path, the answer to a write,
and how long a company's propagation may run within the invocation."""

from __future__ import annotations

from collections.abc import Callable

from approval_core.api.http import GatewayRoutedResolver, Response, json_response
from approval_core.directory_feed import WriteResult
from approval_core.domain.directory import Kind
from approval_core.domain.errors import DirectoryEntryNotFound

# Leave this much of the invocation for answering: a company's members are updated until then.
RESERVED_MILLIS = 2500


def entry_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise DirectoryEntryNotFound(
            f"The directory holds customers, companies, carts, quotes and settings, not '{kind[:40]}'"
        ) from None


def time_left(app: GatewayRoutedResolver) -> Callable[[], bool]:
    return lambda: bool(app.lambda_context.get_remaining_time_in_millis() > RESERVED_MILLIS)


def write_response(entry_id: str, result: WriteResult) -> Response[str]:
    """200 with what happened. ``propagation.complete`` false: some of a company's members' items
    still show its previous record; the same request again (it is idempotent) carries on."""
    body: dict[str, object] = {"id": entry_id, "result": result.outcome.value}
    if result.propagation is not None:
        body["propagation"] = {
            "membersUpdated": result.propagation.members_updated,
            "complete": result.propagation.complete,
        }
    return json_response(200, body)

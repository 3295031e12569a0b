"""The list's query parameters: the query language (``q``), ``sort``, paging and
``X-Total-Count``. Imported only by the list function (``approval_core.api.http`` re-exports
``parse_list_request`` lazily): the query language is no part of the other functions' cold start."""

from __future__ import annotations

from collections.abc import Mapping

from approval_core.api.routing import GatewayEvent
from approval_core.domain.errors import ErrorDetail, ValidationFailed
from approval_core.domain.listing import ListRequest
from approval_core.domain.query import QueryError, parse_query, parse_sort


def parse_list_request(event: GatewayEvent) -> ListRequest:
    """The list's query parameters (APPROVAL-400001 naming the parameter when one is bad)."""
    params = event.query_string_parameters
    try:
        query = parse_query(params.get("q"))
        sort = parse_sort(params.get("sort"))
    except QueryError as error:
        parameter = str(error).split(":", 1)[0]
        raise ValidationFailed(str(error), [ErrorDetail(field=parameter, message=str(error))]) from None
    return ListRequest(
        query=query,
        sort=sort,
        page_number=_int_parameter(params, "pageNumber", default=1, low=1, high=1_000_000),
        page_size=_int_parameter(params, "pageSize", default=60, low=1, high=60),
        with_total=(event.headers.get("x-total-count") or "").strip().lower() == "true",
        default_sort=not (params.get("sort") or "").strip(),
    )


def _int_parameter(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high):
        message = f"{name}: must be an integer from {low} to {high}"
        raise ValidationFailed(message, [ErrorDetail(field=name, message=message)])
    return int(raw)

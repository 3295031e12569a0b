"""Holds moto to DynamoDB's rules where they differ, so that the integration suite fails where
DynamoDB would (moto is more lenient).

A botocore hook on the functions' DynamoDB client, before each request is built:

* refuses an item beyond 400 KB or nested deeper than 32 levels, as DynamoDB does: a
  ``ValidationException``, or for a transaction a ``TransactionCanceledException`` whose reason
  is ``ValidationError``;
* rewrites every number to the form DynamoDB stores and returns (``10.10`` becomes ``10.1``,
  ``1E+2`` becomes ``100``): DynamoDB keeps a number's value, not its written form;
* answers a ``TransactWriteItems`` whose ``ClientRequestToken`` already committed with success,
  without applying it again, as DynamoDB does for ten minutes (moto applies it again).

Not installed against a real DynamoDB endpoint (DYNAMODB_TEST_ENDPOINT), which applies the rules itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from approval_core.adapters.item_limits import MAX_ITEM_BYTES, MAX_NESTING_DEPTH, item_size, nesting_depth

REFUSALS: list[str] = []  # what the hook refused, for tests that want to know DynamoDB would have
# Tokens of transactions that committed; a fault that loses a committed answer records its token.
COMMITTED_TOKENS: set[str] = set()


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def stored_number(text: str) -> str:
    """A number as DynamoDB returns it: its value, in plain notation without redundant zeros."""
    number = Decimal(text)
    return "0" if number == 0 else format(number.normalize(), "f")


def _normalise(value: dict[str, Any]) -> None:
    for kind, content in value.items():
        if kind == "N":
            value[kind] = stored_number(content)
        elif kind == "NS":
            value[kind] = [stored_number(number) for number in content]
        elif kind == "L":
            for element in content:
                _normalise(element)
        elif kind == "M":
            for element in content.values():
                _normalise(element)


def _refusal(item: Mapping[str, Any]) -> str | None:
    if nesting_depth(item) > MAX_NESTING_DEPTH:
        return "Nesting Levels have exceeded supported limits"
    if item_size(item) > MAX_ITEM_BYTES:
        return "Item size has exceeded the maximum allowed size"
    return None


def _written_items(operation: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    if operation == "PutItem":
        yield params["Item"]
    elif operation == "BatchWriteItem":
        for requests in params["RequestItems"].values():
            yield from (request["PutRequest"]["Item"] for request in requests if "PutRequest" in request)
    elif operation == "TransactWriteItems":
        yield from (write["Put"]["Item"] for write in params["TransactItems"] if "Put" in write)


def _values(params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every typed value a request writes or compares with."""
    for item in params.get("Item", {}), params.get("ExpressionAttributeValues", {}):
        yield from item.values()
    for write in params.get("TransactItems", []):
        for action in write.values():
            yield from _values(action)
    for requests in params.get("RequestItems", {}).values():
        for request in requests if isinstance(requests, list) else []:
            yield from request.get("PutRequest", {}).get("Item", {}).values()


# DynamoDB's limit on the items of one TransactWriteItems (moto accepts more).
MAX_TRANSACTION_ITEMS = 100


def _check_transaction_size(writes: list[dict[str, Any]]) -> None:
    """DynamoDB refuses a transaction of more than 100 items, or with two operations on one item,
    as a ValidationException (moto writes either)."""
    keys = [json.dumps(next(iter(write.values())).get("Key") or _key_of(write), sort_keys=True) for write in writes]
    if len(writes) > MAX_TRANSACTION_ITEMS:
        REFUSALS.append(f"{len(writes)} items in one transaction")
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "Member must have length less than or equal to 100"}},
            "TransactWriteItems",
        )
    if len(set(keys)) != len(keys):
        REFUSALS.append("two operations on one item in one transaction")
        raise ClientError(
            {
                "Error": {
                    "Code": "ValidationException",
                    "Message": "Transaction request cannot include multiple operations on one item",
                }
            },
            "TransactWriteItems",
        )


def _key_of(write: dict[str, Any]) -> dict[str, Any]:
    item = write.get("Put", {}).get("Item", {})
    return {"PK": item.get("PK"), "SK": item.get("SK")}


def install(client: Any) -> Callable[[], None]:
    """Installs the hook on ``client``; returns what uninstalls it."""

    def before_build(params: dict[str, Any], model: Any, **_: Any) -> None:
        for value in _values(params):
            _normalise(value)
        operation = model.name
        if operation == "TransactWriteItems":
            _check_transaction_size(params["TransactItems"])
        reasons = [_refusal(item) for item in _written_items(operation, params)]
        refused = [reason for reason in reasons if reason]
        if not refused:
            return
        REFUSALS.append(refused[0])
        if operation == "TransactWriteItems":
            response = {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": [
                    {"Code": "ValidationError", "Message": reason} if reason else {"Code": "None"} for reason in reasons
                ],
            }
            raise client.exceptions.TransactionCanceledException(response, operation)
        raise ClientError({"Error": {"Code": "ValidationException", "Message": refused[0]}}, operation)

    def before_send(request: Any, **_: Any) -> AWSResponse | None:
        # Each attempt of botocore's retries is sent, and so seen, here.
        if json.loads(request.body or b"{}").get("ClientRequestToken") not in COMMITTED_TOKENS:
            return None
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, _Body(b"{}"))

    events = client.meta.events
    events.register("before-parameter-build.dynamodb", before_build)
    events.register("before-send.dynamodb.TransactWriteItems", before_send)

    def uninstall() -> None:
        events.unregister("before-parameter-build.dynamodb", before_build)
        events.unregister("before-send.dynamodb.TransactWriteItems", before_send)

    return uninstall

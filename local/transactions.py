"""TransactWriteItems for the embedded engine at DynamoDB's cost: per item, not per table.

moto makes a transaction all-or-nothing by deep-copying every table it touches before it writes,
so each transaction costs time in proportion to the table: with ten thousand approvals, a second
per write. The embedded engine answers one request at a time (``EmbeddedDynamoDB``), so nothing
can interleave with a transaction, and the same all-or-nothing result is had by checking every
condition first and writing only when all hold, keeping copies of just the items written, in
case a write itself fails half-way.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

MAX_ITEMS = 100
Reason = tuple[str, str, Any] | tuple[None, None, None]


def install() -> None:
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign,assignment]
    if not getattr(DynamoHandler.transact_write_items, "idempotent", False):
        DynamoHandler.transact_write_items = _idempotent(DynamoHandler.transact_write_items)  # type: ignore[method-assign,assignment]


# DynamoDB treats a TransactWriteItems whose ClientRequestToken it committed (within 10 minutes) as
# done, and answers success again: the SDKs' retries of a request whose answer was lost (a read
# timeout on a busy machine) rely on it. moto does not; without it such a retry fails its own
# conditions (an approval "already pending", a decision "already taken").
REMEMBERED_TOKENS = 10_000
_committed: OrderedDict[str, tuple[str, Any]] = OrderedDict()


def _idempotent(transact: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def transact_once(handler: Any) -> Any:
        token = handler.body.get("ClientRequestToken")
        request = json.dumps(handler.body.get("TransactItems"), sort_keys=True)
        if token and token in _committed and _committed[token][0] == request:
            return _committed[token][1]
        result = transact(handler)
        if token:
            _committed[token] = (request, result)
            while len(_committed) > REMEMBERED_TOKENS:
                _committed.popitem(last=False)
        return result

    transact_once.idempotent = True  # type: ignore[attr-defined]
    return transact_once


def _transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > MAX_ITEMS:
        raise TooManyTransactionsException()
    operations = [_operation(backend, item) for item in transact_items]
    targets = [(table, str(sorted(key.items()))) for _, _, table, key in operations]
    if len(set(targets)) != len(targets):
        raise MultipleTransactionsException()

    reasons = [_check(backend, op, table, key) for _, op, table, key in operations]
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)

    before = [(table, key, copy.deepcopy(backend.get_item(table, key))) for _, _, table, key in operations]
    try:
        for kind, op, table, key in operations:
            _write(backend, kind, op, table, key)
    except Exception:
        for table, key, item in reversed(before):
            if item is None:
                backend.delete_item(table, key)
            else:
                backend.put_item(table, item.to_json()["Attributes"])
        raise


def _operation(backend: DynamoDBBackend, item: dict[str, Any]) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    if len(item) != 1:
        raise MultipleTransactionsException()
    kind, op = next(iter(item.items()))
    if kind not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError(f"Unsupported transaction operation {kind}")
    table_name = op["TableName"]
    if kind == "Put":
        table = backend.get_table(table_name)
        key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = op["Item"][table.range_key_attr]
    else:
        key = op["Key"]
    return kind, op, table_name, key


def _check(backend: DynamoDBBackend, op: dict[str, Any], table: str, key: dict[str, Any]) -> Reason:
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    current = backend.get_item(table, key)
    expression = get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if expression.expr(current):
        return (None, None, None)
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", "The conditional request failed", old)


def _write(backend: DynamoDBBackend, kind: str, op: dict[str, Any], table: str, key: dict[str, Any]) -> None:
    if kind == "Put":
        backend.put_item(table, op["Item"])
    elif kind == "Delete":
        backend.delete_item(table, key)
    elif kind == "Update":
        backend.update_item(
            table,
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=op.get("ExpressionAttributeNames") or {},
            expression_attribute_values=op.get("ExpressionAttributeValues") or {},
        )

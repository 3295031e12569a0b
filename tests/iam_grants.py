"""Holds every function to the DynamoDB permissions template.yaml grants it.

moto does not check IAM, so a function whose policy lacks an action it performs passes every test
and is denied on AWS the day it is deployed. A botocore hook on the functions' DynamoDB client
records what each request asks of which table, as IAM authorises it (a transaction as the item
actions it holds, a query of an index on the index's ARN); the integration suite's handlers fail
when their function did something its policy does not allow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# A transaction's items are authorised as these actions.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
ANY_INDEX = "*"


@dataclass(frozen=True)
class Access:
    action: str  # "dynamodb:PutItem"
    table: str  # the table's logical id in template.yaml
    index: str | None = None

    def __str__(self) -> str:
        on = f"{self.table} index {self.index}" if self.index else self.table
        return f"{self.action} on {on}"


@dataclass(frozen=True)
class Grant:
    actions: frozenset[str]
    table: str
    index: str | None  # None: the table itself; ANY_INDEX: every index

    def allows(self, access: Access) -> bool:
        if access.action not in self.actions and "dynamodb:*" not in self.actions:
            return False
        if access.table != self.table:
            return False
        return self.index == access.index or (access.index is not None and self.index == ANY_INDEX)


def accesses(operation: str, params: Mapping[str, Any], table_ids: Mapping[str, str]) -> list[Access]:
    """What one request asks of which tables (``table_ids``: table name -> logical id)."""

    def access(action: str, table_name: str, index: str | None = None) -> Access:
        return Access(f"dynamodb:{action}", table_ids.get(table_name, table_name), index)

    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            kind, body = next(iter(item.items()))
            found.append(access(TRANSACTION_ITEM_ACTIONS[kind], body["TableName"]))
        return found
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [access(operation, name) for name in params.get("RequestItems", {})]
    if "TableName" in params:
        return [access(operation, params["TableName"], params.get("IndexName"))]
    return []


def grants(document: Mapping[str, Any], function: str) -> list[Grant]:
    """The DynamoDB grants of a function's inline policy statements in the template."""
    properties = document["Resources"][function].get("Properties") or {}
    found = []
    for policy in properties.get("Policies") or []:
        if not isinstance(policy, dict):
            continue
        for statement in policy.get("Statement") or []:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action")
            actions = frozenset([actions] if isinstance(actions, str) else actions or [])
            resources = statement.get("Resource")
            for resource in resources if isinstance(resources, list) else [resources]:
                target = _table_resource(resource)
                if target is not None:
                    found.append(Grant(actions, *target))
    return found


def _table_resource(resource: Any) -> tuple[str, str | None] | None:
    """(table logical id, index) of ``!GetAtt Table.Arn`` or ``!Sub "${Table.Arn}/index/Name"``."""
    if not isinstance(resource, dict):
        return None
    if "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        logical_id, attribute = target if isinstance(target, list) else str(target).split(".", 1)
        return (logical_id, None) if attribute == "Arn" else None
    if "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], str):
        text = resource["Fn::Sub"]
        if text.startswith("${") and ".Arn}" in text:
            logical_id, rest = text[2:].split(".Arn}", 1)
            if not rest:
                return logical_id, None
            if rest.startswith("/index/"):
                return logical_id, rest.removeprefix("/index/")
    return None


class GrantChecker:
    """Records, per function, the accesses its policy does not grant (per thread: tests run
    handlers of different functions at once on the one shared client)."""

    def __init__(self, document: Mapping[str, Any], table_ids: Mapping[str, str]) -> None:
        self._document = document
        self._table_ids = table_ids
        self._grants: dict[str, list[Grant]] = {}
        self._running = threading.local()

    @property
    def denied(self) -> list[Access]:
        denied: list[Access] = getattr(self._running, "denied", [])
        return denied

    def __call__(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        function = getattr(self._running, "function", None)
        if function is None:
            return
        allowed = self._grants.setdefault(function, grants(self._document, function))
        for access in accesses(model.name, params, self._table_ids):
            if not any(grant.allows(access) for grant in allowed):
                self._running.denied.append(access)

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        self._running.function, self._running.denied = function, []
        try:
            yield
        finally:
            self._running.function = None

    def wrap(self, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """The function's handler, failing when it did what its policy does not allow."""

        def checked(*args: Any, **kwargs: Any) -> Any:
            with self.running(function):
                result = handler(*args, **kwargs)
                denied = sorted({str(access) for access in self.denied})
            assert not denied, f"template.yaml does not grant {function}: {', '.join(denied)}"
            return result

        return checked

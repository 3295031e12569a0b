"""Every expression the service sends would be accepted by DynamoDB itself, not only by moto.

moto lets an unaliased reserved word (``status``, ``comment``, ``name``...) through in most
expressions; DynamoDB refuses the request with a ValidationException ("Attribute name is a
reserved keyword"). So the tests here capture every DynamoDB request of a realistic flow (a
botocore ``before-call`` hook on the functions' client and on the expiry sweep's client) and check
each KeyConditionExpression, ConditionExpression, UpdateExpression, FilterExpression and
ProjectionExpression, those inside TransactItems and batch requests included, against DynamoDB's
reserved words (dynamodb_reserved_words.txt, from the AWS documentation). They also check what
DynamoDB refuses about placeholders: a ``#name``/``:value`` an expression uses but the request does
not define, and one the request defines but no expression uses.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.directory import DynamoDirectory
from approval_core.adapters.dynamodb import make_client
from approval_core.adapters.reads import SeparateReads
from approval_core.api.wiring import dynamodb_client
from approval_core.service import ApprovalService
from approvals_local.template import load_template
from tests.integration.conftest import Invoke, LambdaContext, sample_event
from tests.world import create_body

ROOT = Path(__file__).resolve().parents[2]
# Source and format: the comment at the top of the file.
RESERVED_WORDS = frozenset(
    line.strip().upper()
    for line in (Path(__file__).parent / "dynamodb_reserved_words.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)

CONDITION_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
# The words of each expression's own grammar (they are reserved words too, but not attribute names here).
GRAMMAR = {
    "KeyConditionExpression": frozenset({"AND", "BETWEEN"}),
    "ConditionExpression": CONDITION_KEYWORDS,
    "FilterExpression": CONDITION_KEYWORDS,
    "UpdateExpression": frozenset({"SET", "REMOVE", "ADD", "DELETE"}),
    "ProjectionExpression": frozenset(),
}
EXPRESSIONS = tuple(GRAMMAR)
FUNCTIONS = frozenset(
    {
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
        "if_not_exists",
        "list_append",
    }
)
# A word that is not a placeholder (#name, :value) nor part of one; "(" after it makes it a call.
WORD = re.compile(r"(?<![#:\w])([A-Za-z_][A-Za-z0-9_]*)(\s*\()?")
NAME_PLACEHOLDER = re.compile(r"#[A-Za-z0-9_]+")
VALUE_PLACEHOLDER = re.compile(r":[A-Za-z0-9_]+")
# Members that hold data, not request structure: never looked into for expressions.
DATA_MEMBERS = frozenset({"Item", "Key", "Keys", "ExclusiveStartKey", "ExpressionAttributeValues"})


# --------------------------------------------------------------------------- the rule
def unaliased_reserved_words(kind: str, expression: str) -> list[str]:
    """The attribute names in ``expression`` (a ``kind``: KeyConditionExpression, ...) that are
    DynamoDB reserved words written as they are instead of through a #placeholder."""
    found = []
    for match in WORD.finditer(expression):
        word, call = match.group(1), match.group(2)
        if call and word.lower() in FUNCTIONS:
            continue
        if word.upper() in GRAMMAR[kind]:
            continue
        if word.upper() in RESERVED_WORDS:
            found.append(word)
    return found


@dataclass(frozen=True)
class Sent:
    """One DynamoDB request as it went over the wire."""

    operation: str
    body: dict[str, Any]


def expression_holders(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, object) of every object in a request body that carries expressions: the request
    itself, each TransactItems entry's Put/Update/Delete/ConditionCheck/Get, each table of a batch."""
    if isinstance(node, dict):
        if any(kind in node for kind in EXPRESSIONS):
            yield path or "request", node
        for name, value in node.items():
            if name not in DATA_MEMBERS:
                yield from expression_holders(value, f"{path}.{name}" if path else name)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from expression_holders(value, f"{path}[{index}]")


def reserved_word_violations(requests: list[Sent]) -> list[str]:
    problems: list[str] = []
    for sent in requests:
        for path, holder in expression_holders(sent.body):
            for kind in EXPRESSIONS:
                expression = holder.get(kind)
                if not isinstance(expression, str):
                    continue
                problems.extend(
                    f"{sent.operation} {path}.{kind} {expression!r}: {word!r} is a DynamoDB reserved word; "
                    f"alias it (ExpressionAttributeNames {{'#{word}': '{word}'}})"
                    for word in unaliased_reserved_words(kind, expression)
                )
    return problems


def placeholder_violations(requests: list[Sent]) -> list[str]:
    problems: list[str] = []
    for sent in requests:
        for path, holder in expression_holders(sent.body):
            text = " ".join(str(holder[kind]) for kind in EXPRESSIONS if kind in holder)
            for label, pattern, member in (
                ("name", NAME_PLACEHOLDER, "ExpressionAttributeNames"),
                ("value", VALUE_PLACEHOLDER, "ExpressionAttributeValues"),
            ):
                used = set(pattern.findall(text))
                defined = set(holder.get(member) or {})
                if used - defined:
                    problems.append(f"{sent.operation} {path}: {label}s {sorted(used - defined)} not in {member}")
                if defined - used:
                    problems.append(f"{sent.operation} {path}: {member} {sorted(defined - used)} unused")
    return problems


# --------------------------------------------------------------------------- capturing
class Capture:
    """A botocore before-call hook: keeps the body of every request the client sends."""

    def __init__(self) -> None:
        self.requests: list[Sent] = []

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        self.requests.append(Sent(model.name, json.loads(body)))


@contextlib.contextmanager
def capturing(client: Any, capture: Capture) -> Iterator[None]:
    client.meta.events.register("before-call.dynamodb", capture)
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb", capture)


def expect(response: dict[str, Any], status: int) -> dict[str, Any]:
    assert response["statusCode"] == status, response
    return response


def service_flow(invoke: Invoke) -> str:
    """What customers do, through the functions: create (with and without Idempotency-Key, and a
    refused duplicate), get, list with q, patch (requestor, approver, a stale If-Match), permitted,
    search users, delete. Returns the id of an approval that was PENDING (for the sweep)."""
    first = expect(
        invoke("CreateApprovalFunction", body=create_body("cart-req"), headers={"Idempotency-Key": uuid.uuid4().hex}),
        201,
    )["json"]["id"]
    expect(invoke("CreateApprovalFunction", body=create_body("cart-req")), 409)
    expect(invoke("GetApprovalFunction", approval_id=first), 200)
    expect(
        invoke(
            "ListApprovalsFunction",
            query={"q": "status:(PENDING,DECLINED) resource.siteCode:main", "sort": "metadata.createdAt:desc"},
            headers={"X-Total-Count": "true"},
        ),
        200,
    )
    comment = {"op": "add", "path": "/comment", "value": "before Friday, please"}
    expect(invoke("UpdateApprovalFunction", approval_id=first, body=[comment]), 204)
    expect(invoke("UpdateApprovalFunction", approval_id=first, body=[comment], headers={"If-Match": "1"}), 409)
    cart = {"resourceType": "CART", "resourceId": "cart-req", "action": "CHECKOUT"}
    expect(invoke("CheckPermittedFunction", body=cart), 200)
    expect(invoke("SearchUsersFunction", body=cart), 200)
    approve = {"op": "replace", "path": "/status", "value": "APPROVED"}
    expect(invoke("UpdateApprovalFunction", user="admin", approval_id=first, body=[approve]), 204)
    expect(invoke("CheckPermittedFunction", body=cart), 200)
    second = expect(invoke("CreateApprovalFunction", body=create_body("cart-req-2")), 201)["json"]["id"]
    expect(invoke("CloseApprovalFunction", approval_id=first), 400)  # APPROVED: not closable
    return str(second)


@pytest.fixture
def sweep_table(dynamodb_endpoint: str) -> Iterator[tuple[Any, str]]:
    """An approvals table of its own for the sweep (the expiry index spans every tenant), and a
    client of its own, as the sweep's function has."""
    client = make_client(dynamodb_endpoint)
    name = f"sweep-words-{uuid.uuid4().hex[:8]}"
    client.create_table(TableName=name, **load_template(ROOT / "template.yaml").tables["ApprovalsTable"])
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    yield client, name
    with contextlib.suppress(Exception):
        client.delete_table(TableName=name)


@pytest.fixture
def sent(
    invoke: Invoke, tenant: str, tables: dict[str, str], handlers: dict[str, Any], sweep_table: tuple[Any, str]
) -> list[Sent]:
    """Every DynamoDB request of the flow, the scheduled sweep function and a sweep that expires."""
    capture = Capture()
    with capturing(dynamodb_client(), capture):
        pending_id = service_flow(invoke)
        handlers["ExpireApprovalsFunction"].lambda_handler(sample_event("expire_approvals"), LambdaContext())
        pending = DynamoApprovalStore(dynamodb_client(), tables["ApprovalsTable"]).get(tenant, pending_id)
        expect(invoke("CloseApprovalFunction", approval_id=pending_id), 204)
    assert pending is not None

    # The sweep, on its own client and table, finds that approval overdue and expires it.
    client, table = sweep_table
    store = DynamoApprovalStore(client, table)
    store.load(tenant, [pending])
    directory = DynamoDirectory(dynamodb_client(), tables["DirectoryTable"])
    overdue_at = datetime.fromisoformat(pending.expiryDate.replace("Z", "+00:00")) + timedelta(seconds=1)
    reads = SeparateReads(directory, directory, store)
    sweeper = ApprovalService(store=store, directory=directory, carts=directory, reads=reads, clock=lambda: overdue_at)
    with capturing(client, capture):
        assert sweeper.expire_overdue(lambda: True).expired == 1
    return capture.requests


# --------------------------------------------------------------------------- the tests
def test_the_flow_sends_every_kind_of_request_the_check_is_about(sent: list[Sent]) -> None:
    """Guards the guard: a hook on the wrong client would see nothing and find nothing wrong."""
    operations = {request.operation for request in sent}
    assert {"GetItem", "Query", "BatchGetItem", "TransactWriteItems"} <= operations, operations
    kinds = {kind for request in sent for _, holder in expression_holders(request.body) for kind in holder}
    assert {"KeyConditionExpression", "ConditionExpression", "UpdateExpression"} <= kinds, kinds
    in_transactions = [
        path for request in sent for path, _ in expression_holders(request.body) if path.startswith("TransactItems")
    ]
    assert in_transactions


def test_no_expression_uses_a_reserved_word_unaliased(sent: list[Sent]) -> None:
    problems = reserved_word_violations(sent)
    assert not problems, "DynamoDB would refuse these requests (moto does not):\n" + "\n".join(dict.fromkeys(problems))


def test_every_placeholder_is_defined_and_used(sent: list[Sent]) -> None:
    problems = placeholder_violations(sent)
    assert not problems, "DynamoDB would refuse these requests:\n" + "\n".join(dict.fromkeys(problems))


# --------------------------------------------------------------------------- the rule itself
def test_the_reserved_word_list_is_dynamodbs() -> None:
    assert len(RESERVED_WORDS) == 573
    assert {"STATUS", "COMMENT", "NAME", "DATE", "ACTION", "RESOURCE", "USER", "TTL", "ZONE"} <= RESERVED_WORDS
    assert not {"VERSION", "PK", "SK", "APPROVALID", "EXPIRYDATE"} & RESERVED_WORDS


@pytest.mark.parametrize(
    ("kind", "expression", "words"),
    [
        ("ConditionExpression", "#status = :pending AND #metadata.#version = :v", []),
        ("ConditionExpression", "status = :pending", ["status"]),
        ("ConditionExpression", "attribute_not_exists(PK) OR #s IN (:a, :b)", []),
        ("ConditionExpression", "#m.name = :n AND size(#items) > :zero", ["name"]),
        ("ConditionExpression", "size > :zero", ["size"]),
        ("KeyConditionExpression", "PK = :p AND begins_with(SK, :prefix)", []),
        ("KeyConditionExpression", "PK = :p AND #date BETWEEN :a AND :b", []),
        ("UpdateExpression", "SET #status = :s, version = :next REMOVE ExpiryKey", []),
        ("UpdateExpression", "SET comment = :c, #h = list_append(#h, :e) ADD counter :one", ["comment", "counter"]),
        ("UpdateExpression", "SET #a = if_not_exists(#a, :zero) REMOVE items[0]", ["items"]),
        ("FilterExpression", "contains(#tags, :t) AND NOT user = :u", ["user"]),
        ("ProjectionExpression", "PK, SK, #status, resource.id", ["resource"]),
    ],
)
def test_the_rule_finds_unaliased_reserved_words(kind: str, expression: str, words: list[str]) -> None:
    assert unaliased_reserved_words(kind, expression) == words


def test_the_rule_looks_into_transactions_and_names_the_expression() -> None:
    request = Sent(
        "TransactWriteItems",
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"status": {"S": "x"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {},
                        "UpdateExpression": "SET status = :s",
                        "ExpressionAttributeValues": {":s": {"S": "x"}},
                    }
                },
            ]
        },
    )
    assert reserved_word_violations([request]) == [
        "TransactWriteItems TransactItems[1].Update.UpdateExpression 'SET status = :s': 'status' is a DynamoDB "
        "reserved word; alias it (ExpressionAttributeNames {'#status': 'status'})"
    ]
    assert placeholder_violations([request]) == []
    unused = Sent("Query", {"KeyConditionExpression": "PK = :p", "ExpressionAttributeNames": {"#s": "status"}})
    assert placeholder_violations([unused]) == [
        "Query request: ExpressionAttributeNames ['#s'] unused",
        "Query request: values [':p'] not in ExpressionAttributeValues",
    ]

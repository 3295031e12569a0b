"""Handlers against a DynamoDB server: moto's by default, or the one DYNAMODB_TEST_ENDPOINT names
(DynamoDB Local, a real account). Tables come from template.yaml itself; each test gets a fresh
tenant, so tests never see each other's data."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from approvals_local.template import load_template, read_document
from tests.dynamodb_rules import install as install_dynamodb_rules
from tests.iam_grants import GrantChecker
from tests.world import CARTS, COMPANIES, CUSTOMERS

ROOT = Path(__file__).resolve().parents[2]
# Logical id -> function folder (its sample event in events/ has the same name), from the template.
FUNCTIONS = {
    logical_id: function.code_uri.name
    for logical_id, function in load_template(ROOT / "template.yaml").functions.items()
}
EVENT_BUS = "approvals-test-bus"
WEBHOOK_SECRETS_PATH = "/approvals-test/webhook-secrets"


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    external = os.environ.get("DYNAMODB_TEST_ENDPOINT")
    if external:
        yield external
        return
    from approvals_local.dynamo import EmbeddedDynamoDB

    with EmbeddedDynamoDB() as engine:
        yield engine.endpoint


@pytest.fixture(scope="session")
def tables(dynamodb_endpoint: str) -> dict[str, str]:
    from approval_core.adapters.approval_store import DynamoApprovalStore
    from approval_core.adapters.dynamodb import make_client

    suffix = uuid.uuid4().hex[:8]
    client = make_client(dynamodb_endpoint)
    names = {}
    for logical_id, definition in load_template(ROOT / "template.yaml").tables.items():
        name = f"{logical_id}-{suffix}"
        client.create_table(TableName=name, **definition)
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        names[logical_id] = name
    # A table the template creates starts with its status keys complete (local mode marks it so too).
    DynamoApprovalStore(client, names["ApprovalsTable"]).backfill_status_keys(has_time=lambda: True)
    os.environ.update(
        {
            "DYNAMODB_ENDPOINT": dynamodb_endpoint,
            "APPROVALS_TABLE_NAME": names["ApprovalsTable"],
            "DIRECTORY_TABLE_NAME": names["DirectoryTable"],
            "IDEMPOTENCY_TABLE_NAME": names["IdempotencyTable"],
            "APPROVAL_EXPIRY_SECONDS": "3600",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "approval-service",
            "POWERTOOLS_METRICS_NAMESPACE": "ApprovalService",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "EVENT_BUS_NAME": EVENT_BUS,
            # boto3 sends EventBridge calls here: moto's server answers every service.
            "AWS_ENDPOINT_URL_EVENTBRIDGE": dynamodb_endpoint,
            # The webhook receiver's queue and secrets, in the same server.
            "AWS_ENDPOINT_URL_SQS": dynamodb_endpoint,
            "AWS_ENDPOINT_URL_SSM": dynamodb_endpoint,
            "WEBHOOK_SECRETS_PATH": WEBHOOK_SECRETS_PATH,
        }
    )
    sqs = boto3.client("sqs", endpoint_url=dynamodb_endpoint)
    queue = sqs.create_queue(QueueName=f"directory-events-{suffix}.fifo", Attributes={"FifoQueue": "true"})
    os.environ["DIRECTORY_EVENTS_QUEUE_URL"] = queue["QueueUrl"]
    events = boto3.client("events", endpoint_url=dynamodb_endpoint)
    if EVENT_BUS not in [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]:
        events.create_event_bus(Name=EVENT_BUS)
    return names


@pytest.fixture(scope="session", autouse=True)
def dynamodb_rules(tables: dict[str, str]) -> Iterator[None]:
    """moto held to DynamoDB's item limits and number forms (tests/dynamodb_rules.py); a real
    DynamoDB endpoint applies them itself."""
    if os.environ.get("DYNAMODB_TEST_ENDPOINT"):
        yield
        return
    from approval_core.api.wiring import dynamodb_client

    uninstall = install_dynamodb_rules(dynamodb_client())
    yield
    uninstall()


@pytest.fixture(scope="session")
def handlers(tables: dict[str, str]) -> dict[str, ModuleType]:
    """Each function's app.py, imported the way Lambda does: once, with its environment set; its
    handler fails a test when the function does what its IAM policy in template.yaml does not allow
    (tests/iam_grants.py: moto does not check IAM)."""
    from approval_core.api.wiring import dynamodb_client

    checker = GrantChecker(read_document(ROOT / "template.yaml"), {name: id_ for id_, name in tables.items()})
    dynamodb_client().meta.events.register("before-parameter-build.dynamodb", checker)
    modules = {}
    for logical_id, folder in FUNCTIONS.items():
        spec = importlib.util.spec_from_file_location(f"fn_{folder}", ROOT / "functions" / folder / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.lambda_handler = checker.wrap(logical_id, module.lambda_handler)
        modules[logical_id] = module
    return modules


@pytest.fixture
def tenant(tables: dict[str, str]) -> str:
    """A fresh tenant holding tests/world.py's companies, customers and carts."""
    from approval_core.adapters.directory import DynamoDirectoryWriter
    from approval_core.api.wiring import dynamodb_client

    name = "t" + uuid.uuid4().hex[:12]
    DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"]).load(name, COMPANIES, CUSTOMERS, CARTS)
    return name


class LambdaContext:
    function_name = "approval-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:approval-test"
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/approval-test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def sample_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((ROOT / "events" / f"{name}.json").read_text()))


Invoke = Callable[..., dict[str, Any]]


def request_and_approve(invoke: Invoke, cart_id: str, requestor: str, approver: str) -> str:
    """The requestor asks the approver to approve the cart, and the approver approves: the flow a
    directory must serve, however it was fed. Returns the approval's id."""
    from tests.world import create_body

    created = invoke("CreateApprovalFunction", user=requestor, body=create_body(cart_id, approver=approver))
    assert created["statusCode"] == 201, created
    approved = invoke(
        "UpdateApprovalFunction",
        user=approver,
        approval_id=created["json"]["id"],
        body=[{"op": "replace", "path": "/status", "value": "APPROVED"}],
    )
    assert approved["statusCode"] == 204, approved
    return str(created["json"]["id"])


@pytest.fixture
def invoke(handlers: dict[str, ModuleType], tenant: str) -> Invoke:
    """Invoke a function with its sample event from events/, changing only what the test is about."""

    def _invoke(
        function: str,
        *,
        user: str = "req",
        body: Any = None,
        raw_body: str | None = None,
        approval_id: str | None = None,
        path_tenant: str | None = None,
        claims: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        route_key: str | None = None,
    ) -> dict[str, Any]:
        event = sample_event(FUNCTIONS[function])
        path_tenant = tenant if path_tenant is None else path_tenant
        event_claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        event_claims.update({"sub": user, "tenant": tenant})
        if claims is not None:
            event_claims.update(claims)
            for name in [key for key, value in claims.items() if value is None]:
                del event_claims[name]
        route = event["routeKey"].split(" ", 1)[1]
        event["pathParameters"] = {"tenant": path_tenant}
        if "{approvalId}" in route:
            event["pathParameters"]["approvalId"] = approval_id
        path = route.replace("{tenant}", path_tenant).replace("{approvalId}", str(approval_id))
        event["rawPath"] = event["requestContext"]["http"]["path"] = path  # decoded, as API Gateway sends it
        if route_key is not None:
            event["routeKey"] = event["requestContext"]["routeKey"] = route_key
        if body is not None or raw_body is not None:
            event["body"] = raw_body if raw_body is not None else json.dumps(body)
        if query is not None:
            event["queryStringParameters"] = query or None
            event["rawQueryString"] = urllib.parse.urlencode(query)
        event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("if-match", "x-total-count")}
        event["headers"].update({name.lower(): value for name, value in (headers or {}).items()})
        response = handlers[function].lambda_handler(event, LambdaContext())
        response["json"] = json.loads(response["body"]) if response.get("body") else None
        return response

    return _invoke


class RequestCounter:
    def __init__(self) -> None:
        self.operations: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    @property
    def count(self) -> int:
        return len(self.operations)


@pytest.fixture
def dynamodb_requests(handlers: dict[str, ModuleType]) -> Iterator[RequestCounter]:
    """Counts the DynamoDB requests the functions make (a botocore event hook on their client)."""
    from approval_core.api.wiring import dynamodb_client

    counter = RequestCounter()
    events = dynamodb_client().meta.events
    events.register("before-call.dynamodb", counter)
    yield counter
    events.unregister("before-call.dynamodb", counter)

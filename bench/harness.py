"""The functions in this process, as Lambda runs them, against a DynamoDB server: tables from
template.yaml, each function's environment, its app.py imported once, invoked with API Gateway
events built from the samples in events/ (as tests/integration does)."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bench.capacity import Item, Key, Recorder, TableShape, key_text, write_targets
from bench.local_mode import function_folders, table_definitions
from bench.world import TENANT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from approval_core.adapters.approval_store import DynamoApprovalStore

ROOT = Path(__file__).resolve().parents[1]
# Logical id -> function folder (its sample event in events/ has the same name), from the template.
FUNCTIONS = function_folders(ROOT)
EVENT_BUS = "approvals-bench-bus"


def function_environment(tables: dict[str, str], endpoint: str) -> dict[str, str]:
    """What the template gives every function, pointed at the benchmark's server (tracing off,
    as outside Lambda; logs at WARNING, as in the test suites)."""
    return {
        "DYNAMODB_ENDPOINT": endpoint,
        "APPROVALS_TABLE_NAME": tables["ApprovalsTable"],
        "DIRECTORY_TABLE_NAME": tables["DirectoryTable"],
        "IDEMPOTENCY_TABLE_NAME": tables["IdempotencyTable"],
        "APPROVAL_EXPIRY_SECONDS": "3600",
        "TENANT_CLAIM": "tenant",
        "GROUPS_CLAIM": "cognito:groups",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "approval-service",
        "POWERTOOLS_METRICS_NAMESPACE": "ApprovalService",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "EVENT_BUS_NAME": EVENT_BUS,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }


class LambdaContext:
    function_name = "approval-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:approval-bench"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/approval-bench"
    log_stream_name = "bench"

    def __init__(self, remaining_ms: int = 10_000) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


class Functions:
    """Tables of their own on the server, the functions imported with their environment."""

    def __init__(self, endpoint: str) -> None:
        from approval_core.adapters.dynamodb import make_client

        self.endpoint = endpoint
        suffix = uuid.uuid4().hex[:8]
        self.probe: DynamoDBClient = make_client(endpoint, "us-east-1")
        self.tables: dict[str, str] = {}
        self.shapes: dict[str, TableShape] = {}
        for logical_id, definition in table_definitions(ROOT).items():
            name = f"{logical_id}-{suffix}"
            self.probe.create_table(TableName=name, **definition)
            self.probe.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            self.tables[logical_id] = name
            self.shapes[name] = TableShape.from_definition(definition)
        from approval_core.adapters.approval_store import DynamoApprovalStore

        DynamoApprovalStore(self.probe, self.tables["ApprovalsTable"]).backfill_status_keys(has_time=lambda: True)
        self.environment = function_environment(self.tables, endpoint)
        os.environ.update(self.environment)
        _patient_client()
        self.modules = {logical_id: _import(folder) for logical_id, folder in FUNCTIONS.items()}
        from approval_core.api.wiring import dynamodb_client

        self.client = dynamodb_client()  # the functions' own client: what they send is counted
        self.recorder = Recorder(self.client, self.probe, self.shapes)
        self._null = open(os.devnull, "w")  # noqa: SIM115 - for the life of the benchmark

    def store(self) -> DynamoApprovalStore:
        """The approvals table with the probe's client (its requests are not counted)."""
        from approval_core.adapters.approval_store import DynamoApprovalStore

        return DynamoApprovalStore(self.probe, self.tables["ApprovalsTable"])

    def event(
        self,
        function: str,
        *,
        user: str,
        body: Any = None,
        approval_id: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = copy.deepcopy(
            json.loads((ROOT / "events" / f"{FUNCTIONS[function]}.json").read_text(encoding="utf-8"))
        )
        if "routeKey" not in event:
            return event
        event["requestContext"]["authorizer"]["jwt"]["claims"].update({"sub": user, "tenant": TENANT})
        route = event["routeKey"].split(" ", 1)[1]
        event["pathParameters"] = {"tenant": TENANT}
        if "{approvalId}" in route:
            event["pathParameters"]["approvalId"] = approval_id
        path = route.replace("{tenant}", TENANT).replace("{approvalId}", str(approval_id))
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["body"] = None if body is None else json.dumps(body)
        event["queryStringParameters"] = query or None
        event["rawQueryString"] = urllib.parse.urlencode(query or {})
        event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("if-match", "x-total-count")}
        event["headers"].update({name.lower(): value for name, value in (headers or {}).items()})
        return event

    def invoke(self, function: str, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        """One invocation; the metrics Powertools prints go nowhere."""
        with contextlib.redirect_stdout(self._null):
            result: dict[str, Any] = self.modules[function].lambda_handler(event, context or LambdaContext())
        return result

    def call(self, function: str, expect: int | None = None, **request: Any) -> dict[str, Any]:
        response = self.invoke(function, self.event(function, **request))
        if expect is not None and response.get("statusCode") != expect:
            raise RuntimeError(f"{function} answered {response.get('statusCode')}: {response.get('body')}")
        return response

    @contextlib.contextmanager
    def recording(self) -> Iterator[Recorder]:
        self.recorder.start()
        try:
            yield self.recorder
        finally:
            self.recorder.stop()

    @contextlib.contextmanager
    def logging_requests(self) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """The (operation, parameters) of each request the functions make: a reference kept by a
        hook that costs a function call, so it may run while the functions are timed."""
        log: list[tuple[str, dict[str, Any]]] = []

        def keep(params: dict[str, Any], model: Any, **_: Any) -> None:
            log.append((model.name, params))

        events = self.client.meta.events
        events.register("provide-client-params.dynamodb", keep)
        try:
            yield log
        finally:
            events.unregister("provide-client-params.dynamodb", keep)

    def written(self, log: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Key]]:
        return [
            (table, key) for operation, params in log for table, key, _ in write_targets(operation, params, self.shapes)
        ]

    def snapshot(self, keys: list[tuple[str, Key]]) -> dict[str, Item | None]:
        return {
            key_text({"table": table, **key}): self.probe.get_item(TableName=table, Key=key, ConsistentRead=True).get(
                "Item"
            )
            for table, key in keys
        }

    def restore(self, snapshot: dict[str, Item | None], written: list[tuple[str, Key]]) -> None:
        """Put every written item back as the snapshot has it; an item it does not have did not exist."""
        for table, key in written:
            item = snapshot.get(key_text({"table": table, **key}))
            if item is None:
                self.probe.delete_item(TableName=table, Key=key)
            else:
                self.probe.put_item(TableName=table, Item=item)

    def close(self) -> None:
        self._null.close()


def _patient_client() -> None:
    """The functions' DynamoDB client gives up after 2 s (then answers 503): moto's Query reads
    every item of the table, seconds at the scaling section's 400,000. For the benchmark, its
    client waits up to a minute; nothing else about it changes."""
    from botocore.config import Config

    from approval_core.adapters import dynamodb

    dynamodb.CLIENT_CONFIG = dynamodb.CLIENT_CONFIG.merge(Config(read_timeout=60))


def _import(folder: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fn_{folder}", ROOT / "functions" / folder / "app.py")
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load functions/{folder}/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

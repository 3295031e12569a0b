"""DynamoDB failing: throttling, 5xx, timeouts and cancelled transactions are retried with backoff
within the request's time budget, then answered 503 with Retry-After; nothing is half-written.
And a retried create with the same Idempotency-Key creates one approval."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session

from approval_core.api.wiring import dynamodb_client
from tests.dynamodb_rules import COMMITTED_TOKENS
from tests.integration.conftest import Invoke
from tests.reporting import report
from tests.world import create_body

FAULTS_INJECTED: list[str] = []


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def dynamodb_error(status: int, error_type: str, extra: str = "") -> Callable[..., AWSResponse]:
    def respond(request: Any, **_: Any) -> AWSResponse:
        body = f'{{"__type":"com.amazonaws.dynamodb.v20120810#{error_type}","message":"injected"{extra}}}'
        return AWSResponse(request.url, status, {"content-type": "application/x-amz-json-1.0"}, _Body(body.encode()))

    return respond


def read_timeout(request: Any, **_: Any) -> None:
    raise ReadTimeoutError(endpoint_url=request.url)


CANCELLED_BY_CONFLICT = dynamodb_error(
    400,
    "TransactionCanceledException",
    ',"CancellationReasons":[{"Code":"TransactionConflict"},{"Code":"None"},{"Code":"None"},{"Code":"None"}]',
)


class Fault:
    """Fails the functions' DynamoDB requests of one operation, ``times`` times (all when None),
    until stopped."""

    def __init__(self, operation: str, respond: Callable[..., Any], times: int | None) -> None:
        self.attempts = 0
        self._respond = respond
        self._times = times
        self._event = f"before-send.dynamodb.{operation}"
        dynamodb_client().meta.events.register(self._event, self._handle)

    def _handle(self, request: Any, **kwargs: Any) -> Any:
        if self._times is not None and self.attempts >= self._times:
            return None
        self.attempts += 1
        FAULTS_INJECTED.append(self._event)
        return self._respond(request, **kwargs)

    def stop(self) -> None:
        dynamodb_client().meta.events.unregister(self._event, self._handle)


@pytest.fixture
def inject() -> Iterator[Callable[..., Fault]]:
    faults: list[Fault] = []

    def _inject(operation: str, respond: Callable[..., Any], times: int | None = None) -> Fault:
        faults.append(Fault(operation, respond, times))
        return faults[-1]

    yield _inject
    for fault in faults:
        fault.stop()


def create(invoke: Invoke, **headers: str) -> dict[str, Any]:
    return invoke("CreateApprovalFunction", body=create_body(), headers=headers)


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("GetItem", dynamodb_error(400, "ThrottlingException")),
        ("GetItem", dynamodb_error(400, "ProvisionedThroughputExceededException")),
        ("GetItem", dynamodb_error(500, "InternalServerError")),
        ("GetItem", dynamodb_error(503, "ServiceUnavailable")),
        ("GetItem", read_timeout),
    ],
    ids=["throttling", "throughput", "500", "503", "timeout"],
)
def test_reads_are_retried_then_answered_503_with_retry_after(
    invoke: Invoke, inject: Callable[..., Fault], operation: str, fault: Callable[..., Any]
) -> None:
    approval_id = create(invoke)["json"]["id"]
    injected = inject(operation, fault)
    response = invoke("GetApprovalFunction", approval_id=approval_id)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert response["json"] == {
        "code": 503,
        "status": "Service Unavailable",
        "message": "The service is busy; retry shortly",
    }
    assert injected.attempts == 3  # the first try and two retries with backoff


def test_a_passing_fault_is_absorbed_by_the_retry(invoke: Invoke, inject: Callable[..., Fault]) -> None:
    approval_id = create(invoke)["json"]["id"]
    injected = inject("GetItem", dynamodb_error(400, "ThrottlingException"), times=1)
    assert invoke("GetApprovalFunction", approval_id=approval_id)["statusCode"] == 200
    assert injected.attempts == 1


@pytest.mark.parametrize(
    "fault",
    [dynamodb_error(500, "InternalServerError"), read_timeout, CANCELLED_BY_CONFLICT],
    ids=["500", "timeout", "transaction-conflict"],
)
def test_an_interrupted_create_leaves_nothing_and_the_cart_free(
    invoke: Invoke, inject: Callable[..., Fault], fault: Callable[..., Any]
) -> None:
    injected = inject("TransactWriteItems", fault)
    failed = create(invoke)
    assert failed["statusCode"] == 503
    assert failed["headers"]["Retry-After"] == "1"
    injected.stop()
    listed = invoke("ListApprovalsFunction", user="req", query={})
    assert listed["json"] == []
    assert create(invoke)["statusCode"] == 201


def test_a_patch_cancelled_by_contention_is_503_and_changes_nothing(
    invoke: Invoke, inject: Callable[..., Fault]
) -> None:
    approval_id = create(invoke)["json"]["id"]
    inject("TransactWriteItems", CANCELLED_BY_CONFLICT)
    body = [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}]
    response = invoke("UpdateApprovalFunction", user="admin", approval_id=approval_id, body=body)
    assert response["statusCode"] == 503
    assert invoke("GetApprovalFunction", approval_id=approval_id)["json"]["status"] == "PENDING"


def test_no_fault_answer_carries_internal_names(invoke: Invoke, inject: Callable[..., Fault]) -> None:
    inject("BatchGetItem", read_timeout)
    body = create(invoke)["body"]
    assert "Timeout" not in body
    assert "botocore" not in body


# --------------------------------------------------------------------------- Idempotency-Key
def test_a_retried_create_with_the_same_key_returns_the_same_id_and_creates_one(invoke: Invoke) -> None:
    first = create(invoke, **{"Idempotency-Key": "order-4711-try"})
    again = create(invoke, **{"Idempotency-Key": "order-4711-try"})
    assert (first["statusCode"], again["statusCode"]) == (201, 201)
    assert again["json"] == first["json"]
    assert len(invoke("ListApprovalsFunction", user="req", query={})["json"]) == 1


def test_the_same_key_with_another_body_is_422(invoke: Invoke) -> None:
    assert create(invoke, **{"Idempotency-Key": "k1"})["statusCode"] == 201
    other = invoke("CreateApprovalFunction", body=create_body("cart-req-2"), headers={"Idempotency-Key": "k1"})
    assert other["statusCode"] == 422
    assert "Idempotency-Key" in other["json"]["message"]


def test_keys_are_per_caller(invoke: Invoke) -> None:
    assert create(invoke, **{"Idempotency-Key": "shared"})["statusCode"] == 201
    theirs = invoke(
        "CreateApprovalFunction", user="multi", body=create_body("cart-multi"), headers={"Idempotency-Key": "shared"}
    )
    assert theirs["statusCode"] == 201


def test_a_refused_create_is_not_remembered_under_its_key(invoke: Invoke) -> None:
    refused = invoke("CreateApprovalFunction", body=create_body(approver="admin2"), headers={"Idempotency-Key": "k2"})
    assert refused["json"]["errorCode"] == "APPROVAL-400006"
    again = invoke("CreateApprovalFunction", body=create_body(approver="admin2"), headers={"Idempotency-Key": "k2"})
    assert again["json"]["errorCode"] == "APPROVAL-400006"


def test_faults_injected_are_counted(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: the count the closing note quotes."""
    report(f"faults injected into DynamoDB requests: {len(FAULTS_INJECTED)}")


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("GetItem", dynamodb_error(400, "ValidationException")),
        (
            "TransactWriteItems",
            dynamodb_error(
                400,
                "TransactionCanceledException",
                ',"CancellationReasons":[{"Code":"None"},{"Code":"ValidationError","Message":"Item size"}]',
            ),
        ),
    ],
    ids=["validation-exception", "transaction-validation-error"],
)
def test_dynamodb_validation_errors_are_400001_and_never_retried(
    invoke: Invoke, inject: Callable[..., Fault], operation: str, fault: Callable[..., Any]
) -> None:
    approval_id = create(invoke)["json"]["id"]
    injected = inject(operation, fault)
    if operation == "GetItem":
        response = invoke("GetApprovalFunction", approval_id=approval_id)
    else:
        response = invoke("CloseApprovalFunction", approval_id=approval_id)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert "Retry-After" not in response["headers"]
    assert injected.attempts == 1


def committed_then_timed_out(request: Any, **_: Any) -> None:
    """The transaction reaches DynamoDB and commits, and its answer is lost (a read timeout): the
    client's retry sends the same request again, with the ClientRequestToken botocore fills in,
    which DynamoDB (and tests/dynamodb_rules.py for moto) answers as already done."""
    response = URLLib3Session().send(request)
    if response.status_code == 200:
        COMMITTED_TOKENS.add(json.loads(request.body)["ClientRequestToken"])
    raise ReadTimeoutError(endpoint_url=request.url)


def test_a_create_whose_answer_was_lost_after_it_committed_is_201_on_the_retry(
    invoke: Invoke, inject: Callable[..., Fault]
) -> None:
    injected = inject("TransactWriteItems", committed_then_timed_out, times=1)
    response = create(invoke)
    assert injected.attempts == 1
    assert response["statusCode"] == 201, response
    listed = invoke("ListApprovalsFunction", query={"q": "resource.id:cart-req"})["json"]
    assert [approval["id"] for approval in listed] == [response["json"]["id"]]

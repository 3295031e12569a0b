"""POST /approvals/bulk through its handler against DynamoDB: rules 20 and 21, each result the
answer the approval's PATCH would have had, what the call costs, and the events it makes."""

from __future__ import annotations

from typing import Any

from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.api.settings import settings
from approval_core.api.stream import publish_changes
from approval_core.api.wiring import dynamodb_client
from approval_core.domain.bulk import MAX_BULK_APPROVALS
from approval_core.domain.models import Approval
from tests.integration.conftest import Invoke, RequestCounter
from tests.integration.test_expiry_and_events import RecordingPublisher, stream_records
from tests.world import create_body

BULK = "DecideApprovalsFunction"
APPROVE = [{"op": "replace", "path": "/status", "value": "APPROVED"}]
CREATED = "2026-11-01T00:00:00.000Z"


def create(invoke: Invoke, user: str = "req", cart: str = "cart-req") -> str:
    response = invoke("CreateApprovalFunction", user=user, body=create_body(cart))
    assert response["statusCode"] == 201, response
    return str(response["json"]["id"])


def load_pending(tenant: str, count: int) -> list[str]:
    """``count`` PENDING approvals ``req`` asked ``admin`` for, stored as the create would."""
    approvals = [
        Approval.model_validate(
            {
                "id": f"bulk-{index}",
                "status": "PENDING",
                "resourceType": "CART",
                "action": "CHECKOUT",
                "resource": {"id": f"cart-bulk-{index}", "siteCode": "main"},
                "requestor": {"userId": "req"},
                "approver": {"userId": "admin"},
                "expiryDate": "2099-01-01T00:00:00.000Z",
                "metadata": {"createdAt": CREATED, "modifiedAt": CREATED, "version": 1},
                "history": [{"at": CREATED, "by": "req", "action": "CREATED", "status": "PENDING", "version": 1}],
            }
        )
        for index in range(count)
    ]
    DynamoApprovalStore(dynamodb_client(), settings().approvals_table_name).load(tenant, approvals)
    return [approval.id for approval in approvals]


def decide(invoke: Invoke, user: str, approval_ids: list[str], **body: Any) -> dict[str, Any]:
    return invoke(BULK, user=user, body={"approvalIds": approval_ids, "status": "APPROVED", **body})


# --------------------------------------------------------------------------- rule 20
def test_rule_20_a_bulk_of_50_is_one_batch_read_and_one_conditional_write_each(
    invoke: Invoke, tenant: str, dynamodb_requests: RequestCounter
) -> None:
    approval_ids = load_pending(tenant, MAX_BULK_APPROVALS)
    dynamodb_requests.operations.clear()
    response = decide(invoke, "admin", approval_ids, approverComment="All fine")
    assert dynamodb_requests.operations == ["BatchGetItem"] + ["TransactWriteItems"] * MAX_BULK_APPROVALS
    assert response["statusCode"] == 200, response
    assert response["json"] == {"results": [{"approvalId": approval_id, "code": 204} for approval_id in approval_ids]}
    listed = invoke("ListApprovalsFunction", user="req", query={"q": "status:APPROVED", "pageSize": "60"})
    assert sorted(approval["id"] for approval in listed["json"]) == sorted(approval_ids)
    assert {approval["approverComment"] for approval in listed["json"]} == {"All fine"}


def test_rule_20_each_result_is_the_answer_its_patch_would_have_had(
    invoke: Invoke, dynamodb_requests: RequestCounter
) -> None:
    pending = create(invoke)
    finished = create(invoke, cart="cart-req-2")
    assert invoke("CloseApprovalFunction", user="req", approval_id=finished)["statusCode"] == 204
    others = create(invoke, user="buyer", cart="cart-buyer-big")
    approval_ids = [finished, others, "no-such-approval", "", "x" * 129, pending]
    dynamodb_requests.operations.clear()
    response = decide(invoke, "admin", approval_ids)
    # The ids no approval can have are not read; only the two PENDING approvals are written.
    assert dynamodb_requests.operations == ["BatchGetItem", "TransactWriteItems", "TransactWriteItems"]
    assert response["statusCode"] == 200
    results = response["json"]["results"]
    assert [(result["approvalId"], result["code"]) for result in results] == [
        (finished, 400),
        (others, 204),  # admin is this one's approver too
        ("no-such-approval", 404),
        ("", 400),
        ("x" * 129, 400),
        (pending, 204),
    ]
    # The same ids again: every one is now refused, each with the body its PATCH answers.
    again = decide(invoke, "req", approval_ids)["json"]["results"]
    for approval_id, result in zip(approval_ids, again, strict=True):
        single = invoke("UpdateApprovalFunction", user="req", approval_id=approval_id, body=APPROVE)
        assert (result["approvalId"], result["code"], result["error"]) == (
            approval_id,
            single["statusCode"],
            single["json"],
        )
    assert [result["error"].get("errorCode") for result in again] == [
        "APPROVAL-400009",
        "APPROVAL-404001",  # buyer's approval: req takes no part in it
        "APPROVAL-404001",
        "APPROVAL-400001",
        "APPROVAL-400001",
        "APPROVAL-400009",
    ]


def test_rule_20_the_events_are_those_of_single_patches(invoke: Invoke) -> None:
    by_bulk = create(invoke)
    by_patch = create(invoke, cart="cart-req-2")
    assert decide(invoke, "admin", [by_bulk])["json"]["results"] == [{"approvalId": by_bulk, "code": 204}]
    assert invoke("UpdateApprovalFunction", user="admin", approval_id=by_patch, body=APPROVE)["statusCode"] == 204

    def events(approval_id: str) -> list[tuple[str, int, str]]:
        publisher = RecordingPublisher()
        assert publish_changes({"Records": stream_records(approval_id)}, publisher) == {"batchItemFailures": []}
        return [(event.detail_type, event.detail["version"], event.detail["status"]) for event in publisher.events]

    expected = [("Approval Created", 1, "PENDING"), ("Approval Approved", 2, "APPROVED")]
    assert events(by_bulk) == events(by_patch) == expected


# --------------------------------------------------------------------------- rule 21
def test_rule_21_a_malformed_bulk_is_400001_naming_the_field_and_reads_nothing(
    invoke: Invoke, dynamodb_requests: RequestCounter
) -> None:
    too_many = [f"a{index}" for index in range(MAX_BULK_APPROVALS + 1)]
    for body, field in (
        ({"approvalIds": too_many, "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": [], "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": ["a1", "a1"], "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": ["a1"], "status": "CLOSED"}, "status"),
    ):
        response = invoke(BULK, user="admin", body=body)
        assert response["statusCode"] == 400, response
        assert response["json"]["errorCode"] == "APPROVAL-400001"
        assert [detail["field"] for detail in response["json"]["details"]] == [field]
    assert invoke(BULK, user="admin", raw_body="{not json")["json"]["errorCode"] == "APPROVAL-400001"
    assert dynamodb_requests.operations == []


def test_rule_21_a_retried_bulk_decides_nothing_twice(invoke: Invoke) -> None:
    approval_id = create(invoke)
    assert decide(invoke, "admin", [approval_id])["json"]["results"][0]["code"] == 204
    retried = decide(invoke, "admin", [approval_id])["json"]["results"][0]
    assert (retried["code"], retried["error"]["errorCode"]) == (400, "APPROVAL-400009")
    history = invoke("GetApprovalFunction", user="req", approval_id=approval_id)["json"]["history"]
    assert [entry["action"] for entry in history] == ["CREATED", "APPROVED"]


def test_bulk_needs_a_manage_scope(invoke: Invoke) -> None:
    read_only = {"scope": "approval.approval_read_own"}
    response = invoke(BULK, user="admin", body={"approvalIds": ["a1"], "status": "APPROVED"}, claims=read_only)
    assert response["statusCode"] == 403

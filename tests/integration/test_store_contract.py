"""The ApprovalStore contract, run against the DynamoDB adapter and the in-memory fake alike, so
unit tests that use the fake test the behaviour the service really has."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from approval_core.adapters import keys
from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.dynamodb import to_item
from approval_core.domain.errors import AlreadyApproved, ApprovalAlreadyExists
from approval_core.domain.models import Approval, Status
from approval_core.ports import ApprovalStore
from tests.fakes import InMemoryApprovalStore

NOW = "2026-11-24T12:00:00.000Z"
LATER = "2026-12-01T12:00:00.000Z"
SetStatus = Callable[[str, Approval, Status], None]


def approval(approval_id: str, resource_id: str = "cart-1") -> Approval:
    return Approval.model_validate(
        {
            "id": approval_id,
            "status": "PENDING",
            "resourceType": "CART",
            "action": "CHECKOUT",
            "resource": {"id": resource_id, "totalPrice": {"currency": "EUR", "amount": "10.10"}},
            "requestor": {"userId": "req"},
            "approver": {"userId": "admin"},
            "expiryDate": LATER,
            "metadata": {"createdAt": NOW, "modifiedAt": NOW, "version": 1},
        }
    )


@pytest.fixture(params=["dynamodb", "fake"])
def store_and_status(request: pytest.FixtureRequest, tables: dict[str, str]) -> tuple[ApprovalStore, SetStatus]:
    if request.param == "fake":
        fake = InMemoryApprovalStore()

        def set_fake(tenant: str, stored: Approval, status: Status) -> None:
            fake.approvals[(tenant, stored.id)].status = status

        return fake, set_fake

    from approval_core.api.wiring import dynamodb_client

    client = dynamodb_client()
    table = tables["ApprovalsTable"]

    def set_dynamo(tenant: str, stored: Approval, status: Status) -> None:
        # Stands in for the later use cases (approve, decline, close) that move the lock along.
        for key in (
            keys.approval(tenant, stored.id),
            keys.resource_lock(tenant, "CART", stored.resource.id, "CHECKOUT"),
        ):
            client.update_item(
                TableName=table,
                Key=to_item(key),
                UpdateExpression="SET #status = :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item({":status": status}),
            )

    return DynamoApprovalStore(client, table), set_dynamo


def test_created_approval_reads_back_equal(store_and_status: tuple[ApprovalStore, SetStatus], tenant: str) -> None:
    store, _ = store_and_status
    store.create(tenant, approval("a1"), NOW)
    assert store.get(tenant, "a1") == approval("a1")
    assert store.get(tenant, "missing") is None


def test_many_approvals_read_back_by_id_in_one_request(
    store_and_status: tuple[ApprovalStore, SetStatus], tenant: str
) -> None:
    store, _ = store_and_status
    store.create(tenant, approval("a1"), NOW)
    store.create(tenant, approval("a2", resource_id="cart-2"), NOW)
    found = store.get_many(tenant, ["a2", "missing", "a1"])
    assert found == {"a1": approval("a1"), "a2": approval("a2", resource_id="cart-2")}
    assert store.get_many(tenant + "x", ["a1"]) == {}
    assert store.get_many(tenant, []) == {}


def test_approvals_are_per_tenant(store_and_status: tuple[ApprovalStore, SetStatus], tenant: str) -> None:
    store, _ = store_and_status
    store.create(tenant, approval("a1"), NOW)
    assert store.get(tenant + "x", "a1") is None


def test_pending_approval_holds_the_resource(store_and_status: tuple[ApprovalStore, SetStatus], tenant: str) -> None:
    store, _ = store_and_status
    store.create(tenant, approval("a1"), NOW)
    with pytest.raises(ApprovalAlreadyExists):
        store.create(tenant, approval("a2"), NOW)
    assert store.get(tenant, "a2") is None


def test_overdue_pending_approval_frees_the_resource(
    store_and_status: tuple[ApprovalStore, SetStatus], tenant: str
) -> None:
    store, _ = store_and_status
    store.create(tenant, approval("a1"), NOW)
    store.create(tenant, approval("a2"), LATER)
    assert store.get(tenant, "a2") is not None


def test_approved_approval_is_400005(store_and_status: tuple[ApprovalStore, SetStatus], tenant: str) -> None:
    store, set_status = store_and_status
    first = approval("a1")
    store.create(tenant, first, NOW)
    set_status(tenant, first, Status.APPROVED)
    with pytest.raises(AlreadyApproved):
        store.create(tenant, approval("a2"), LATER)


@pytest.mark.parametrize("finished", [Status.DECLINED, Status.EXPIRED, Status.CLOSED])
def test_finished_approval_frees_the_resource(
    store_and_status: tuple[ApprovalStore, SetStatus], tenant: str, finished: Status
) -> None:
    store, set_status = store_and_status
    first = approval("a1")
    store.create(tenant, first, NOW)
    set_status(tenant, first, finished)
    store.create(tenant, approval("a2"), NOW)
    assert store.get(tenant, "a2") is not None


def test_taken_id_is_409001_and_nothing_changes(store_and_status: tuple[ApprovalStore, SetStatus], tenant: str) -> None:
    store, _ = store_and_status
    store.create(tenant, approval("a1", "cart-1"), NOW)
    with pytest.raises(ApprovalAlreadyExists):
        store.create(tenant, approval("a1", "cart-2"), NOW)
    assert store.get(tenant, "a1") == approval("a1", "cart-1")
    # The failed create did not take cart-2's lock.
    store.create(tenant, approval("a3", "cart-2"), NOW)

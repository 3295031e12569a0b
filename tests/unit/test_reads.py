"""DynamoReads and the approval store's batch read: one BatchGetItem, keys DynamoDB leaves
unprocessed read again."""

from __future__ import annotations

from typing import Any

import pytest

from approval_core.adapters import keys
from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.dynamodb import UNPROCESSED_ATTEMPTS, to_item
from approval_core.adapters.reads import DynamoReads
from approval_core.domain.errors import ServiceBusy
from approval_core.domain.models import Approval

CUSTOMER = {**keys.customer("acme", "ann"), "id": "ann", "companyIds": ["co"], "groups": ["B2B_REQUESTER"]}
CART = {**keys.cart("acme", "cart-1"), "id": "cart-1", "customerId": "ann", "companyId": "co"}
LOCK = {
    **keys.resource_lock("acme", "CART", "cart-1", "CHECKOUT"),
    "approvalId": "a1",
    "status": "PENDING",
    "expiryDate": "2026-12-01T00:00:00.000Z",
    "requestorId": "ann",
    "approverId": "carol",
}
STORED = {"directory": [CUSTOMER, CART], "approvals": [LOCK]}


class ThrottlingClient:
    """Answers each key only after ``throttled`` rounds have left it unprocessed."""

    def __init__(self, throttled: int) -> None:
        self.throttled = throttled
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        if len(self.requests) <= self.throttled:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        responses = {
            table: [
                to_item(item) for item in STORED[table] if to_item({k: item[k] for k in ("PK", "SK")}) in wanted["Keys"]
            ]
            for table, wanted in RequestItems.items()
        }
        return {"Responses": responses}


def test_permitted_reads_customer_cart_and_lock_in_one_batch_over_both_tables() -> None:
    client = ThrottlingClient(throttled=0)
    customer, cart, lock, _ = DynamoReads(client, "directory", "approvals").get_customer_cart_lock_and_policy_companies(  # type: ignore[arg-type]
        "acme", "ann", "cart-1", "CART", "CHECKOUT"
    )
    assert len(client.requests) == 1
    assert sorted(client.requests[0]) == ["approvals", "directory"]
    assert (customer and customer.company_ids, cart and cart.customerId, lock and lock.approvalId) == (
        ("co",),
        "ann",
        "a1",
    )


def test_unprocessed_keys_are_read_again() -> None:
    client = ThrottlingClient(throttled=2)
    customer, cart, lock, _ = DynamoReads(client, "directory", "approvals").get_customer_cart_lock_and_policy_companies(  # type: ignore[arg-type]
        "acme", "ann", "cart-1", "CART", "CHECKOUT"
    )
    assert len(client.requests) == 3
    assert (customer is not None, cart is not None, lock is not None) == (True, True, True)


def test_keys_left_unprocessed_every_time_are_503() -> None:
    client = ThrottlingClient(throttled=UNPROCESSED_ATTEMPTS)
    with pytest.raises(ServiceBusy):
        DynamoReads(client, "directory", "approvals").get_customers_cart_and_policy_companies("acme", {"ann"}, "cart-1")  # type: ignore[arg-type]
    assert len(client.requests) == UNPROCESSED_ATTEMPTS


def test_the_approval_store_reads_unprocessed_approvals_again() -> None:
    at = "2026-11-24T12:00:00.000Z"
    approval = Approval.model_validate(
        {
            "id": "a1",
            "status": "PENDING",
            "resourceType": "CART",
            "action": "CHECKOUT",
            "resource": {"id": "cart-1"},
            "requestor": {"userId": "ann"},
            "approver": {"userId": "carol"},
            "expiryDate": "2026-12-01T12:00:00.000Z",
            "metadata": {"createdAt": at, "modifiedAt": at, "version": 1},
        }
    )
    stored = {**keys.approval("acme", "a1"), **approval.model_dump(mode="python", exclude_none=True)}
    STORED["approvals"].append(stored)
    try:
        client = ThrottlingClient(throttled=2)
        assert DynamoApprovalStore(client, "approvals").get_many("acme", ["a1", "a2"]) == {"a1": approval}  # type: ignore[arg-type]
        assert len(client.requests) == 3
        throttled = ThrottlingClient(throttled=UNPROCESSED_ATTEMPTS)
        with pytest.raises(ServiceBusy):
            DynamoApprovalStore(throttled, "approvals").get_many("acme", ["a1"])  # type: ignore[arg-type]
    finally:
        STORED["approvals"].remove(stored)

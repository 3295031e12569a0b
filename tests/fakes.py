"""In-memory implementations of the ports, for unit tests of the use cases.

They keep the semantics of the DynamoDB adapters (tests/integration/test_store_contract.py runs
the same contract against both), so a fake cannot drift from the real thing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from approval_core.domain.errors import AlreadyApproved, ApprovalAlreadyExists
from approval_core.domain.models import Approval, Status
from approval_core.domain.reference import Cart, Customer

FREE_STATUSES = {Status.DECLINED, Status.EXPIRED, Status.CLOSED}


class InMemoryApprovalStore:
    def __init__(self) -> None:
        self.approvals: dict[tuple[str, str], Approval] = {}
        self.locks: dict[tuple[str, str, str, str], Approval] = {}
        self.requests = 0

    def get(self, tenant: str, approval_id: str) -> Approval | None:
        self.requests += 1
        found = self.approvals.get((tenant, approval_id))
        return copy.deepcopy(found)

    def create(self, tenant: str, approval: Approval, now: str) -> None:
        self.requests += 1
        lock_key = (tenant, approval.resourceType, approval.resource.id, approval.action)
        holder = self.locks.get(lock_key)
        if holder is not None and not (
            holder.status in FREE_STATUSES or (holder.status is Status.PENDING and holder.expiryDate <= now)
        ):
            if holder.status is Status.APPROVED:
                raise AlreadyApproved()
            raise ApprovalAlreadyExists()
        if (tenant, approval.id) in self.approvals:
            raise ApprovalAlreadyExists()
        self.approvals[(tenant, approval.id)] = copy.deepcopy(approval)
        self.locks[lock_key] = self.approvals[(tenant, approval.id)]


class InMemoryDirectory:
    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self.customers = {customer.id: customer for customer in customers}
        self.requests = 0

    def get_customers(self, tenant: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
        self.requests += 1
        return {cid: self.customers[cid] for cid in customer_ids if cid in self.customers}


class InMemoryCartSource:
    def __init__(self, carts: Iterable[Cart] = ()) -> None:
        self.carts = {cart.id: cart for cart in carts}
        self.requests = 0

    def get_cart(self, tenant: str, cart_id: str) -> Cart | None:
        self.requests += 1
        return self.carts.get(cart_id)

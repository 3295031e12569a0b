"""In-memory implementations of the ports, for unit tests of the use cases.

They keep the semantics of the DynamoDB adapters (tests/integration/test_store_contract.py runs
the same contract against both), so a fake cannot drift from the real thing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator

from approval_core.domain.errors import (
    AlreadyApproved,
    ApprovalAlreadyExists,
    ApprovalFinished,
    ConcurrentModification,
    CreatedResourceAlreadySet,
)
from approval_core.domain.listing import KeyedListing, KeyedSelection
from approval_core.domain.models import Approval, HistoryEntry, OverdueApproval, ResourceApproval, Status
from approval_core.domain.order import fingerprint
from approval_core.domain.reference import Cart, Customer, Quote, TenantSettings
from approval_core.domain.rules import rule_13_status

FREE_STATUSES = {Status.DECLINED, Status.EXPIRED, Status.CLOSED}
LockKey = tuple[str, str, str, str]


class InMemoryApprovalStore:
    def __init__(self) -> None:
        self.approvals: dict[tuple[str, str], Approval] = {}
        self.locks: dict[LockKey, str] = {}
        self.requests = 0

    def get(self, tenant: str, approval_id: str) -> Approval | None:
        self.requests += 1
        return copy.deepcopy(self.approvals.get((tenant, approval_id)))

    def get_many(self, tenant: str, approval_ids: list[str]) -> dict[str, Approval]:
        self.requests += 1
        found = {approval_id: self.approvals.get((tenant, approval_id)) for approval_id in approval_ids}
        return {approval_id: copy.deepcopy(approval) for approval_id, approval in found.items() if approval}

    def latest_for_resource(
        self, tenant: str, resource_type: str, resource_id: str, action: str
    ) -> ResourceApproval | None:
        self.requests += 1
        approval_id = self.locks.get((tenant, resource_type, resource_id, action))
        if approval_id is None:
            return None
        latest = self.approvals[(tenant, approval_id)]
        return ResourceApproval(
            approvalId=latest.id,
            status=latest.status,
            expiryDate=latest.expiryDate,
            requestorId=latest.requestor.userId,
            approverId=latest.approver.userId,
            fingerprint=fingerprint(latest.resource),
            createdResourceId=latest.createdResource.id if latest.createdResource else None,
        )

    def list_for_participant(self, tenant: str, user_id: str, limit: int | None) -> list[Approval]:
        self.requests += 1
        mine = [
            approval
            for (approval_tenant, _), approval in self.approvals.items()
            if approval_tenant == tenant and approval.is_participant(user_id)
        ]
        mine.sort(key=lambda approval: (approval.metadata.createdAt, approval.id), reverse=True)
        return copy.deepcopy(mine[:limit] if limit is not None else mine)

    def list_keyed(self, tenant: str, user_id: str, selection: KeyedSelection) -> KeyedListing | None:
        self.requests += 1
        mine = [
            approval
            for (approval_tenant, _), approval in self.approvals.items()
            if approval_tenant == tenant and approval.is_participant(user_id)
        ]
        mine.sort(key=lambda approval: (approval.metadata.createdAt, approval.id), reverse=True)

        def selected(approval: Approval) -> bool:
            status = rule_13_status(approval.status, approval.expiryDate, selection.now)
            return selection.statuses is None or status in selection.statuses

        of_statuses = [approval for approval in mine if selected(approval)]
        in_range = [
            approval
            for approval in of_statuses
            if (selection.created_from or "") <= approval.metadata.createdAt <= (selection.created_to or "\uffff")
        ]
        kept: list[Approval] = []
        read = 0
        for approval in in_range:
            if selection.limit is not None and len(kept) >= selection.limit:
                break
            read += 1
            if selection.keep(approval):
                kept.append(approval)
        truncated = read > selection.max_read
        return KeyedListing(copy.deepcopy(kept), total=len(of_statuses), read=read, truncated=truncated)

    def backfill_status_keys(self, has_time: Callable[[], bool]) -> bool:
        return True

    def create(self, tenant: str, approval: Approval, now: str) -> None:
        self.requests += 1
        lock_key = (tenant, approval.resourceType, approval.resource.id, approval.action)
        holder_id = self.locks.get(lock_key)
        holder = self.approvals[(tenant, holder_id)] if holder_id else None
        if holder is not None and not (
            holder.status in FREE_STATUSES
            or (holder.status is Status.PENDING and holder.expiryDate <= now)
            or (holder.status is Status.APPROVED and _used_or_changed(holder, approval))
        ):
            if holder.status is Status.APPROVED:
                raise AlreadyApproved()
            raise ApprovalAlreadyExists()
        if (tenant, approval.id) in self.approvals:
            raise ApprovalAlreadyExists()
        self.approvals[(tenant, approval.id)] = copy.deepcopy(approval)
        self.locks[lock_key] = approval.id

    def overdue(self, now: str) -> Iterator[OverdueApproval]:
        due = [
            (t, a) for (t, _), a in list(self.approvals.items()) if a.status is Status.PENDING and a.expiryDate <= now
        ]
        for tenant, approval in sorted(due, key=lambda pair: pair[1].expiryDate):
            self.requests += 1
            yield OverdueApproval(
                tenant=tenant,
                approvalId=approval.id,
                expiryDate=approval.expiryDate,
                createdAt=approval.metadata.createdAt,
                requestorId=approval.requestor.userId,
                approverId=approval.approver.userId,
                resourceType=approval.resourceType,
                resourceId=approval.resource.id,
                action=approval.action,
                version=approval.metadata.version,
            )

    def count_overdue(self, now: str) -> int:
        self.requests += 1
        return sum(1 for a in self.approvals.values() if a.status is Status.PENDING and a.expiryDate <= now)

    def expire(self, overdue: OverdueApproval, entry: HistoryEntry, sweep_id: str) -> bool:
        self.requests += 1
        stored = self.approvals[(overdue.tenant, overdue.approvalId)]
        if (
            stored.status is not Status.PENDING
            or stored.expiryDate > entry.at
            or stored.metadata.version != overdue.version
        ):
            return False
        metadata = stored.metadata.model_copy(update={"version": entry.version, "modifiedAt": entry.at})
        self.approvals[(overdue.tenant, overdue.approvalId)] = stored.model_copy(
            update={"status": Status.EXPIRED, "metadata": metadata, "history": [*stored.history, entry]}
        )
        return True

    def update(
        self,
        tenant: str,
        approval: Approval,
        expected_version: int,
        now: str,
        expected_status: Status = Status.PENDING,
    ) -> None:
        self.requests += 1
        stored = self.approvals[(tenant, approval.id)]
        if expected_status is Status.APPROVED:
            if stored.createdResource is not None:
                raise CreatedResourceAlreadySet()
            if stored.status is not Status.APPROVED:
                raise ApprovalFinished()
        elif stored.status is not Status.PENDING or stored.expiryDate <= now:
            raise ApprovalFinished()
        if stored.metadata.version != expected_version:
            raise ConcurrentModification()
        self.approvals[(tenant, approval.id)] = copy.deepcopy(approval)


def _used_or_changed(holder: Approval, new: Approval) -> bool:
    """Rules 18, 19: an APPROVED approval frees its resource once used or once the content differs."""
    return holder.createdResource is not None or fingerprint(holder.resource) != fingerprint(new.resource)


class InMemoryDirectory:
    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self.customers = {customer.id: customer for customer in customers}
        self.requests = 0

    def get_customers(self, tenant: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
        self.requests += 1
        return {cid: self.customers[cid] for cid in customer_ids if cid in self.customers}

    def get_members(self, tenant: str, company_id: str) -> list[Customer]:
        self.requests += 1
        return [customer for customer in self.customers.values() if company_id in customer.company_ids]


class InMemoryCartSource:
    """Carts, and (as a QuoteSource) quotes and the tenant's settings."""

    def __init__(
        self, carts: Iterable[Cart] = (), quotes: Iterable[Quote] = (), settings: TenantSettings | None = None
    ) -> None:
        self.carts = {cart.id: cart for cart in carts}
        self.quotes = {quote.id: quote for quote in quotes}
        self.settings = settings or TenantSettings()
        self.requests = 0

    def get_quote(self, tenant: str, quote_id: str) -> Quote | None:
        self.requests += 1
        return self.quotes.get(quote_id)

    def get_tenant_settings(self, tenant: str) -> TenantSettings:
        self.requests += 1
        return self.settings

    def get_cart(self, tenant: str, cart_id: str) -> Cart | None:
        self.requests += 1
        return self.carts.get(cart_id)

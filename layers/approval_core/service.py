"""The use cases. Each takes the caller and a validated request, applies the rules of
``domain.rules`` to what the ports return, and either returns a result or raises the contract's
error. Nothing here knows about Lambda, HTTP or DynamoDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from approval_core.domain import rules
from approval_core.domain.caller import Caller
from approval_core.domain.clock import iso, iso_after, utc_now
from approval_core.domain.errors import ApprovalNotFound
from approval_core.domain.models import (
    Approval,
    CreateApprovalRequest,
    HistoryAction,
    HistoryEntry,
    Metadata,
    Person,
    Status,
)
from approval_core.domain.reference import Customer
from approval_core.ports import ApprovalStore, CustomersAndCart

DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600


@dataclass
class ApprovalService:
    store: ApprovalStore
    directory: CustomersAndCart
    expiry_seconds: int = DEFAULT_EXPIRY_SECONDS
    clock: Callable[[], datetime] = utc_now

    def create_approval(self, caller: Caller, request: CreateApprovalRequest) -> str:
        """Ask an approver to approve the caller's cart (rules 1 to 5). Returns the new id."""
        now = self.clock()
        customers, cart = self.directory.get_customers_and_cart(
            caller.tenant, {caller.user_id, request.approver.userId}, request.resourceId
        )
        requestor = _as_token_says(customers.get(caller.user_id) or Customer(id=caller.user_id), caller)

        rules.caller_company_exists(requestor)
        cart = rules.resource_exists(cart, request.resourceId)
        rules.rule_2_owns_resource(requestor, cart)
        rules.rule_1_may_ask_for_approval(requestor)
        approver = requestor if request.approver.userId == requestor.id else customers.get(request.approver.userId)
        company = rules.rule_3_company_of_approval(requestor, cart, approver)
        rules.rule_4_needs_approval(requestor, cart, company)
        approver = rules.rule_3_4_approver_assignable(
            requestor,
            approver,
            company,
            buyer_above_limit=rules.is_buyer_above_limit(requestor, cart, company),
        )

        created_at = iso(now)
        approval = Approval(
            id=request.id or uuid.uuid4().hex,
            status=Status.PENDING,
            resourceType=request.resourceType,
            action=request.action,
            resource=cart.snapshot(),
            requestor=_person(requestor),
            approver=_person(approver),
            comment=request.comment,
            expiryDate=iso_after(now, self.expiry_seconds),
            details=request.details,
            metadata=Metadata(createdAt=created_at, modifiedAt=created_at, version=1),
            history=[
                HistoryEntry(
                    at=created_at,
                    by=caller.user_id,
                    action=HistoryAction.CREATED,
                    status=Status.PENDING,
                    version=1,
                )
            ],
        )
        self.store.create(caller.tenant, approval, now=created_at)  # rule 5
        return approval.id

    def get_approval(self, caller: Caller, approval_id: str) -> Approval:
        """One approval, for its requestor or approver only (rule 6), as of now (rule 13)."""
        approval = self.store.get(caller.tenant, approval_id)
        if approval is None or not rules.rule_6_visible_to(approval, caller.user_id):
            raise ApprovalNotFound(f"Approval {approval_id} does not exist")
        return rules.rule_13_effective(approval, iso(self.clock()))


def _as_token_says(customer: Customer, caller: Caller) -> Customer:
    """Groups come from the token's groups claim when it has one, else from the directory."""
    return customer if caller.groups is None else replace(customer, groups=caller.groups)


def _person(customer: Customer) -> Person:
    return Person(userId=customer.id, firstName=customer.first_name, lastName=customer.last_name)

"""The business rules of ../shared/API.md as pure functions, each named by its number.

They take the customers, the cart and the approval as the ports returned them and either return
the answer or raise the contract's error. No I/O happens here.
"""

from __future__ import annotations

from approval_core.domain.errors import (
    ApproverNotAssignable,
    CompanyNotFound,
    NoCompany,
    NoPermission,
    ResourceNotFound,
)
from approval_core.domain.models import Approval, Status
from approval_core.domain.reference import B2B_ADMIN, B2B_BUYER, B2B_REQUESTER, Cart, Company, Customer


def caller_company_exists(caller: Customer) -> None:
    """The caller belongs to a company the directory knows (APPROVAL-400011, APPROVAL-404003)."""
    if not caller.company_ids:
        raise NoCompany()
    if not caller.companies:
        raise CompanyNotFound(f"Company {caller.company_ids[0]} does not exist")


def resource_exists(cart: Cart | None, cart_id: str) -> Cart:
    if cart is None:
        raise ResourceNotFound(f"Cart {cart_id} does not exist")
    return cart


def rule_1_may_ask_for_approval(caller: Customer) -> None:
    """Rule 1: only customers in B2B_REQUESTER or B2B_BUYER can create an approval."""
    if not caller.in_group(B2B_REQUESTER, B2B_BUYER):
        raise NoPermission("Only customers in B2B_REQUESTER or B2B_BUYER can ask for an approval")


def rule_2_owns_resource(caller: Customer, cart: Cart) -> None:
    """Rule 2: only the resource's owner can create an approval for it."""
    if cart.customerId != caller.id:
        raise NoPermission(f"Cart {cart.id} does not belong to the caller")


def rule_3_company_of_approval(requestor: Customer, cart: Cart, approver: Customer | None) -> Company:
    """Rule 3: the cart's company, else the requestor's only company, else the one the requestor
    shares with the approver."""
    if cart.companyId is not None:
        if cart.companyId not in requestor.company_ids:
            raise NoPermission(f"Cart {cart.id} belongs to a company the caller is not in")
        company_id = cart.companyId
    elif len(requestor.company_ids) == 1:
        company_id = requestor.company_ids[0]
    else:
        shared = [cid for cid in requestor.company_ids if approver and cid in approver.company_ids]
        if not shared:
            raise ApproverNotAssignable("The approver shares no company with the requestor")
        company_id = shared[0]
    company = requestor.companies.get(company_id)
    if company is None:
        raise CompanyNotFound(f"Company {company_id} does not exist")
    return company


def within_approval_limit(cart: Cart, company: Company) -> bool:
    """Rule 4: a company without a limit sets none; a cart in another currency than the limit's
    counts as above it; only a total that exceeds the limit is above it."""
    limit = company.approval_limit
    if limit is None:
        return True
    if cart.totalPrice is None:
        return True
    if cart.totalPrice.currency != limit.currency:
        return False
    return cart.totalPrice.amount <= limit.amount


def rule_4_needs_approval(requestor: Customer, cart: Cart, company: Company) -> None:
    """Rule 4: a B2B_REQUESTER always needs approval; a B2B_BUYER only above the company limit."""
    if requestor.in_group(B2B_REQUESTER):
        return
    if within_approval_limit(cart, company):
        raise NoPermission("The cart is within the company's approval limit: the buyer may check out")


def rule_3_4_approver_assignable(
    requestor: Customer, approver: Customer | None, company: Company, buyer_above_limit: bool
) -> Customer:
    """Rules 3 and 4: the approver is another customer of the company, in B2B_ADMIN or B2B_BUYER;
    for a buyer above the limit, a B2B_ADMIN."""
    if approver is None:
        raise ApproverNotAssignable("The approver does not exist")
    if approver.id == requestor.id:
        raise ApproverNotAssignable("The requestor cannot be their own approver")
    if company.id not in approver.company_ids:
        raise ApproverNotAssignable(f"The approver does not belong to company {company.id}")
    allowed = (B2B_ADMIN,) if buyer_above_limit else (B2B_ADMIN, B2B_BUYER)
    if not approver.in_group(*allowed):
        raise ApproverNotAssignable(f"The approver must be in {' or '.join(allowed)}")
    return approver


def is_buyer_above_limit(requestor: Customer, cart: Cart, company: Company) -> bool:
    return not requestor.in_group(B2B_REQUESTER) and not within_approval_limit(cart, company)


def rule_6_visible_to(approval: Approval | None, user_id: str) -> bool:
    """Rule 6: customers see only approvals where they are the requestor or the approver."""
    return approval is not None and approval.is_participant(user_id)


def rule_13_effective(approval: Approval, now_iso: str) -> Approval:
    """Rule 13: an overdue PENDING approval reads as EXPIRED before the sweep writes it."""
    if approval.status is Status.PENDING and approval.expiryDate <= now_iso:
        return approval.model_copy(update={"status": Status.EXPIRED})
    return approval

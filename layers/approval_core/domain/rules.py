"""The business rules of docs/api.md ("Business rules") as pure functions, each named by its number.

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
    total = cart.totalPrice.value() if cart.totalPrice is not None else None
    if cart.totalPrice is None or total is None:
        return True
    if cart.totalPrice.currency != limit.currency:
        return False
    return total <= limit.amount


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
    allowed = approver_groups(buyer_above_limit)
    if not approver.in_group(*allowed):
        raise ApproverNotAssignable(f"The approver must be in {' or '.join(allowed)}")
    return approver


def approver_groups(buyer_above_limit: bool) -> tuple[str, ...]:
    """Rules 3 and 4: who may approve: admins and buyers; for a buyer above the limit, admins."""
    return (B2B_ADMIN,) if buyer_above_limit else (B2B_ADMIN, B2B_BUYER)


def is_buyer_above_limit(requestor: Customer, cart: Cart, company: Company) -> bool:
    return not requestor.in_group(B2B_REQUESTER) and not within_approval_limit(cart, company)


def rule_6_visible_to(approval: Approval | None, user_id: str) -> bool:
    """Rule 6: customers see only approvals where they are the requestor or the approver."""
    return approval is not None and approval.is_participant(user_id)


def rule_11_cart_company(customer: Customer, cart: Cart) -> Company | None:
    """The company a cart belongs to, as far as the caller can tell: the cart's, else the caller's
    only one."""
    if cart.companyId is not None:
        return customer.companies.get(cart.companyId)
    if cart.customerId == customer.id and len(customer.company_ids) == 1:
        return customer.companies.get(customer.company_ids[0])
    return None


def is_admin_of_cart_company(customer: Customer, cart: Cart) -> bool:
    """Rule 11: a B2B_ADMIN of the cart's company is permitted without an approval."""
    return customer.in_group(B2B_ADMIN) and rule_11_cart_company(customer, cart) is not None


def is_buyer_within_limit(customer: Customer, cart: Cart) -> bool:
    """Rule 11: a B2B_BUYER whose own cart is within the company limit may check out."""
    if not customer.in_group(B2B_BUYER) or cart.customerId != customer.id:
        return False
    company = rule_11_cart_company(customer, cart)
    return company is not None and within_approval_limit(cart, company)


def rule_12_candidate_companies(requestor: Customer, cart: Cart) -> list[Company]:
    """Rule 12 (with rule 3): the companies whose members could approve the cart: the cart's,
    else each of the requestor's (the approver chosen decides which one the approval is for)."""
    if cart.companyId is not None:
        if cart.companyId not in requestor.company_ids:
            raise NoPermission(f"Cart {cart.id} belongs to a company the caller is not in")
        company_ids: tuple[str, ...] = (cart.companyId,)
    else:
        company_ids = requestor.company_ids
    companies = [requestor.companies[cid] for cid in company_ids if cid in requestor.companies]
    if not companies:
        raise CompanyNotFound(f"Company {company_ids[0]} does not exist")
    return companies


def rule_13_status(status: Status, expiry_date: str, now_iso: str) -> Status:
    """Rule 13: an overdue PENDING approval reads as EXPIRED before the sweep writes it."""
    return Status.EXPIRED if status is Status.PENDING and expiry_date <= now_iso else status


def rule_13_effective(approval: Approval, now_iso: str) -> Approval:
    """Rule 13, on a whole approval."""
    status = rule_13_status(approval.status, approval.expiryDate, now_iso)
    return approval if status is approval.status else approval.model_copy(update={"status": status})

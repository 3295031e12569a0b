"""The permitted check (rule 11) and search users (rule 12)."""

from __future__ import annotations

import pytest

from approval_core.domain.errors import NoCompany, NoPermission, ResourceNotFound
from approval_core.domain.models import ResourceQuery, Status
from approval_core.service import ApprovalService
from tests.unit.conftest import Clock, caller, request


def about(cart_id: str) -> ResourceQuery:
    return ResourceQuery(resourceType="CART", resourceId=cart_id, action="CHECKOUT")  # type: ignore[arg-type]


def answer(service: ApprovalService, user_id: str, cart_id: str) -> dict[str, object]:
    return service.permitted(caller(user_id), about(cart_id)).model_dump(mode="json", exclude_none=True)


def approve(service: ApprovalService, approval_id: str, status: str = "APPROVED") -> None:
    service.update_approval(caller("admin"), approval_id, [{"op": "replace", "path": "/status", "value": status}])


# --------------------------------------------------------------------------- rule 11
def test_rule_11_requester_without_approval_is_not_permitted(service: ApprovalService) -> None:
    assert answer(service, "req", "cart-req") == {"action": "CHECKOUT", "permitted": False}


def test_rule_11_pending_approval_is_not_permitted_and_named(service: ApprovalService) -> None:
    approval_id = service.create_approval(caller("req"), request())
    assert answer(service, "req", "cart-req") == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "PENDING",
        "approvalId": approval_id,
    }


@pytest.mark.parametrize("who", ["req", "buyer"])
def test_rule_11_approved_approval_permits_requestor_and_approver(service: ApprovalService, who: str) -> None:
    approval_id = service.create_approval(caller("req"), request(approver="buyer"))
    service.update_approval(caller("buyer"), approval_id, [{"op": "replace", "path": "/status", "value": "APPROVED"}])
    result = answer(service, who, "cart-req")
    assert (result["permitted"], result["status"], result["approvalId"]) == (True, "APPROVED", approval_id)


def test_rule_11_declined_approval_is_not_permitted(service: ApprovalService) -> None:
    approve(service, service.create_approval(caller("req"), request()), "DECLINED")
    assert answer(service, "req", "cart-req")["permitted"] is False


def test_rule_11_admin_is_permitted_without_approval(service: ApprovalService) -> None:
    assert answer(service, "admin", "cart-admin") == {"action": "CHECKOUT", "permitted": True}


def test_rule_11_buyer_within_the_limit_is_permitted(service: ApprovalService) -> None:
    assert answer(service, "buyer", "cart-buyer-small")["permitted"] is True
    assert answer(service, "buyer", "cart-buyer-big")["permitted"] is False


def test_rule_11_outsider_learns_nothing(service: ApprovalService) -> None:
    service.create_approval(caller("req"), request())
    assert answer(service, "buyer2", "cart-req") == {"action": "CHECKOUT", "permitted": False}


def test_rule_11_admin_of_the_carts_company_is_permitted_but_learns_nothing(service: ApprovalService) -> None:
    service.create_approval(caller("req"), request(approver="buyer"))
    assert answer(service, "usadmin", "cart-req") == {"action": "CHECKOUT", "permitted": True}


def test_rule_11_unknown_cart_is_not_permitted_never_404(service: ApprovalService) -> None:
    assert answer(service, "req", "no-such-cart") == {"action": "CHECKOUT", "permitted": False}


def test_rule_11_caller_in_no_company_is_400011(service: ApprovalService) -> None:
    with pytest.raises(NoCompany):
        service.permitted(caller("nocomp"), about("cart-nocomp"))


def test_rule_13_overdue_approval_reads_expired_in_the_permitted_check(service: ApprovalService, clock: Clock) -> None:
    service.create_approval(caller("req"), request())
    clock.advance(3600)
    assert answer(service, "req", "cart-req")["status"] == Status.EXPIRED.value


# --------------------------------------------------------------------------- rule 12
def names(service: ApprovalService, user_id: str, cart_id: str) -> list[str]:
    return [candidate.userId for candidate in service.search_approvers(caller(user_id), about(cart_id))]


def test_rule_12_requester_sees_admins_and_buyers_of_the_company_never_themselves(service: ApprovalService) -> None:
    assert sorted(names(service, "req", "cart-req")) == ["admin", "buyer", "buyer2", "usadmin"]


def test_rule_12_buyer_above_the_limit_sees_admins_only(service: ApprovalService) -> None:
    assert sorted(names(service, "buyer", "cart-buyer-big")) == ["admin", "usadmin"]


def test_rule_12_candidates_carry_names(service: ApprovalService) -> None:
    first = service.search_approvers(caller("req"), about("cart-req"))[0]
    assert first.model_dump(exclude_none=True).keys() == {"userId", "firstName", "lastName"}


def test_rule_12_unknown_cart_is_404002(service: ApprovalService) -> None:
    with pytest.raises(ResourceNotFound):
        service.search_approvers(caller("req"), about("no-such-cart"))


def test_rule_12_cart_of_someone_else_is_400008(service: ApprovalService) -> None:
    with pytest.raises(NoPermission):
        service.search_approvers(caller("buyer"), about("cart-req"))


def test_rule_12_caller_in_no_company_is_400011(service: ApprovalService) -> None:
    with pytest.raises(NoCompany):
        service.search_approvers(caller("nocomp"), about("cart-nocomp"))

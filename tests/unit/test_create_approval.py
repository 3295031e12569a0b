"""Creating an approval: rules 1 to 5 and the error codes create can raise."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approval_core.domain.errors import (
    AlreadyApproved,
    ApprovalAlreadyExists,
    ApproverNotAssignable,
    CompanyNotFound,
    NoCompany,
    NoPermission,
    ResourceNotFound,
)
from approval_core.domain.models import HistoryAction, Status
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore
from tests.unit.conftest import Clock, caller, request
from tests.world import TENANT


def test_requester_creates_pending_approval_with_cart_snapshot_and_names(service: ApprovalService) -> None:
    approval_id = service.create_approval(caller("req"), request(comment="Please"))

    approval = service.get_approval(caller("req"), approval_id)
    assert approval.status is Status.PENDING
    assert approval.resource.id == "cart-req"
    assert approval.resource.totalPrice is not None
    assert approval.resource.totalPrice.amount == Decimal("250.10")
    assert str(approval.resource.totalPrice.amount) == "250.10"
    assert (approval.requestor.userId, approval.requestor.firstName) == ("req", "Req")
    assert (approval.approver.userId, approval.approver.firstName) == ("admin", "Admin")
    assert approval.comment == "Please"
    assert approval.metadata.version == 1
    assert approval.metadata.createdAt == approval.metadata.modifiedAt == "2026-11-24T12:00:00.123Z"


def test_expiry_date_is_creation_plus_configured_seconds(service: ApprovalService) -> None:
    approval = service.get_approval(caller("req"), service.create_approval(caller("req"), request()))
    assert approval.expiryDate == "2026-11-24T13:00:00.123Z"


def test_creation_appends_the_first_history_entry(service: ApprovalService) -> None:
    approval = service.get_approval(caller("req"), service.create_approval(caller("req"), request()))
    assert [entry.model_dump() for entry in approval.history] == [
        {
            "at": "2026-11-24T12:00:00.123Z",
            "by": "req",
            "action": HistoryAction.CREATED,
            "status": Status.PENDING,
            "version": 1,
        }
    ]


def test_client_given_id_is_kept(service: ApprovalService) -> None:
    assert service.create_approval(caller("req"), request(id="my-approval-1")) == "my-approval-1"


# --------------------------------------------------------------------------- rule 1
def test_rule_1_buyer_above_limit_may_ask_an_admin(service: ApprovalService) -> None:
    assert service.create_approval(caller("buyer"), request("cart-buyer-big", "admin"))


@pytest.mark.parametrize("user_id", ["admin", "plain"])
def test_rule_1_customers_outside_creating_groups_get_400008(service: ApprovalService, user_id: str) -> None:
    cart = "cart-admin" if user_id == "admin" else "cart-plain"
    with pytest.raises(NoPermission):
        service.create_approval(caller(user_id), request(cart, "buyer"))


def test_rule_1_groups_from_the_token_win_over_the_directory(service: ApprovalService) -> None:
    with pytest.raises(NoPermission):
        service.create_approval(caller("req", groups=["B2B_ADMIN"]), request())
    assert service.create_approval(caller("plain", groups=["B2B_REQUESTER"]), request("cart-plain", "admin"))


# --------------------------------------------------------------------------- rule 2
def test_rule_2_only_the_owner_can_ask_for_approval_400008(service: ApprovalService) -> None:
    with pytest.raises(NoPermission, match="does not belong"):
        service.create_approval(caller("buyer2"), request("cart-req", "admin"))


# --------------------------------------------------------------------------- rule 3
def test_rule_3_approver_must_belong_to_the_company_400006(service: ApprovalService) -> None:
    with pytest.raises(ApproverNotAssignable):
        service.create_approval(caller("req"), request(approver="admin2"))


def test_rule_3_approver_must_be_admin_or_buyer_400006(service: ApprovalService) -> None:
    with pytest.raises(ApproverNotAssignable):
        service.create_approval(caller("req"), request(approver="plain"))


def test_rule_3_requestor_cannot_approve_their_own_cart_400006(service: ApprovalService) -> None:
    with pytest.raises(ApproverNotAssignable, match="own approver"):
        service.create_approval(
            caller("buyer", groups=["B2B_REQUESTER", "B2B_BUYER"]), request("cart-buyer-small", "buyer")
        )


def test_rule_3_unknown_approver_400006(service: ApprovalService) -> None:
    with pytest.raises(ApproverNotAssignable):
        service.create_approval(caller("req"), request(approver="nobody"))


def test_rule_3_a_buyer_may_approve_a_requesters_cart(service: ApprovalService) -> None:
    assert service.create_approval(caller("req"), request(approver="buyer"))


def test_rule_3_cart_without_company_uses_the_company_shared_with_the_approver(
    service: ApprovalService,
) -> None:
    # multi is in c2 and c1; admin only in c1: the approval is c1's.
    assert service.create_approval(caller("multi"), request("cart-multi", "admin"))
    # admin2 is only in c2: c2 is shared.
    assert service.create_approval(caller("multi"), request("cart-multi-c2", "admin2"))


def test_rule_3_cart_without_company_and_no_shared_company_400006(service: ApprovalService) -> None:
    with pytest.raises(ApproverNotAssignable):
        service.create_approval(caller("multi"), request("cart-multi", "buyer-of-nowhere"))


def test_rule_3_cart_of_a_company_the_requestor_is_not_in_400008(service: ApprovalService) -> None:
    with pytest.raises(NoPermission, match="company"):
        service.create_approval(caller("req"), request("cart-foreign", "admin"))


# --------------------------------------------------------------------------- rule 4
def test_rule_4_buyer_within_the_limit_gets_400008(service: ApprovalService) -> None:
    with pytest.raises(NoPermission, match="within"):
        service.create_approval(caller("buyer"), request("cart-buyer-small", "admin"))


def test_rule_4_a_total_equal_to_the_limit_is_within_it(service: ApprovalService) -> None:
    with pytest.raises(NoPermission):
        service.create_approval(caller("buyer"), request("cart-buyer-limit", "admin"))


def test_rule_4_cart_in_another_currency_counts_as_above_the_limit(service: ApprovalService) -> None:
    assert service.create_approval(caller("buyer"), request("cart-buyer-usd", "admin"))


def test_rule_4_buyer_above_the_limit_needs_an_admin_approver_400006(service: ApprovalService) -> None:
    with pytest.raises(ApproverNotAssignable, match="B2B_ADMIN"):
        service.create_approval(caller("buyer"), request("cart-buyer-big", "buyer2"))


def test_rule_4_company_without_limit_lets_buyers_check_out_400008(service: ApprovalService) -> None:
    with pytest.raises(NoPermission):
        service.create_approval(caller("usadmin", groups=["B2B_BUYER"]), request("cart-multi-c2", "admin2"))


def test_rule_4_requester_always_needs_approval_even_within_the_limit(service: ApprovalService) -> None:
    assert service.create_approval(caller("req"), request("cart-req-2", "admin"))


# --------------------------------------------------------------------------- rule 5
def test_rule_5_second_pending_approval_is_409001(service: ApprovalService) -> None:
    service.create_approval(caller("req"), request())
    with pytest.raises(ApprovalAlreadyExists):
        service.create_approval(caller("req"), request(approver="buyer"))


def test_rule_5_approved_resource_is_400005(service: ApprovalService, store: InMemoryApprovalStore) -> None:
    approval_id = service.create_approval(caller("req"), request())
    store.approvals[(TENANT, approval_id)].status = Status.APPROVED
    with pytest.raises(AlreadyApproved):
        service.create_approval(caller("req"), request())


@pytest.mark.parametrize("finished", [Status.DECLINED, Status.EXPIRED, Status.CLOSED])
def test_rule_5_after_a_finished_approval_a_new_one_may_be_created(
    service: ApprovalService, store: InMemoryApprovalStore, finished: Status
) -> None:
    approval_id = service.create_approval(caller("req"), request())
    store.approvals[(TENANT, approval_id)].status = finished
    assert service.create_approval(caller("req"), request()) != approval_id


def test_rule_5_an_overdue_pending_approval_no_longer_blocks_the_resource(
    service: ApprovalService, clock: Clock
) -> None:
    first = service.create_approval(caller("req"), request())
    clock.advance(3600)
    assert service.create_approval(caller("req"), request()) != first


def test_client_given_id_that_exists_is_409001(service: ApprovalService) -> None:
    service.create_approval(caller("req"), request(id="taken"))
    with pytest.raises(ApprovalAlreadyExists):
        service.create_approval(caller("req"), request("cart-req-2", id="taken"))


# --------------------------------------------------------------------------- caller and resource
def test_caller_in_no_company_is_400011(service: ApprovalService) -> None:
    with pytest.raises(NoCompany):
        service.create_approval(caller("nocomp"), request("cart-nocomp", "admin"))


def test_caller_unknown_to_the_directory_is_400011(service: ApprovalService) -> None:
    with pytest.raises(NoCompany):
        service.create_approval(caller("stranger"), request())


def test_callers_company_missing_from_the_directory_is_404003(service: ApprovalService) -> None:
    with pytest.raises(CompanyNotFound):
        service.create_approval(caller("ghost"), request("cart-ghost", "admin"))


def test_unknown_cart_is_404002(service: ApprovalService) -> None:
    with pytest.raises(ResourceNotFound):
        service.create_approval(caller("req"), request("no-such-cart"))


def test_company_is_checked_before_the_resource(service: ApprovalService) -> None:
    with pytest.raises(NoCompany):
        service.create_approval(caller("nocomp"), request("no-such-cart"))


def test_resource_is_checked_before_the_approver(service: ApprovalService) -> None:
    with pytest.raises(ResourceNotFound):
        service.create_approval(caller("req"), request("no-such-cart", "nobody"))


def test_rights_are_checked_before_the_approver(service: ApprovalService) -> None:
    with pytest.raises(NoPermission):
        service.create_approval(caller("buyer"), request("cart-buyer-small", "nobody"))


def test_approver_is_checked_before_existing_approvals(service: ApprovalService) -> None:
    service.create_approval(caller("req"), request())
    with pytest.raises(ApproverNotAssignable):
        service.create_approval(caller("req"), request(approver="admin2"))

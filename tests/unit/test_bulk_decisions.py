"""Bulk decisions: rule 20 (each approval decided on its own, as its PATCH would decide it) and
rule 21 (the request: 1 to 50 distinct ids, one decision; a retry decides nothing twice)."""

from __future__ import annotations

from typing import Any

import pytest

from approval_core.domain.bulk import MAX_BULK_APPROVALS, BulkDecisionRequest, BulkOutcome
from approval_core.domain.errors import ApprovalError, ValidationFailed
from approval_core.domain.models import MAX_COMMENT_LENGTH, HistoryAction, Status
from approval_core.domain.validation import validate
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore
from tests.unit.conftest import caller, request

TOO_LONG = "x" * (MAX_COMMENT_LENGTH + 1)


def bulk(*approval_ids: str, status: str = "APPROVED", **extra: Any) -> BulkDecisionRequest:
    return validate({"approvalIds": list(approval_ids), "status": status, **extra}, BulkDecisionRequest)


def outcome(found: BulkOutcome) -> tuple[str, str | None]:
    return found.approvalId, found.error.error_code if found.error else None


def single_patch_error(service: ApprovalService, who: str, approval_id: str, decision: BulkDecisionRequest) -> Any:
    with pytest.raises(ApprovalError) as refused:
        service.update_approval(caller(who), approval_id, decision.as_patch())
    return type(refused.value), refused.value.message, refused.value.details


@pytest.fixture
def two_pending(service: ApprovalService) -> list[str]:
    """``req`` asked ``admin`` to approve two carts."""
    return [service.create_approval(caller("req"), request(cart)) for cart in ("cart-req", "cart-req-2")]


# --------------------------------------------------------------------------- rule 20
def test_rule_20_each_approval_is_decided_with_its_history_entry_and_comment(
    service: ApprovalService, two_pending: list[str]
) -> None:
    outcomes = service.decide_approvals(caller("admin"), bulk(*two_pending, approverComment="Go ahead"))
    assert [outcome(found) for found in outcomes] == [(two_pending[0], None), (two_pending[1], None)]
    for approval_id in two_pending:
        approval = service.get_approval(caller("req"), approval_id)
        assert (approval.status, approval.approverComment, approval.metadata.version) == (
            Status.APPROVED,
            "Go ahead",
            2,
        )
        assert [(entry.action, entry.by) for entry in approval.history][-1] == (HistoryAction.APPROVED, "admin")


def test_rule_20_declines_without_a_comment(service: ApprovalService, two_pending: list[str]) -> None:
    service.decide_approvals(caller("admin"), bulk(*two_pending, status="DECLINED"))
    decided = [service.get_approval(caller("req"), approval_id) for approval_id in two_pending]
    assert [(approval.status, approval.approverComment) for approval in decided] == [(Status.DECLINED, None)] * 2


def test_rule_20_one_refused_approval_leaves_the_others_decided(
    service: ApprovalService, two_pending: list[str]
) -> None:
    service.close_approval(caller("req"), two_pending[0])
    outcomes = service.decide_approvals(caller("admin"), bulk(*two_pending))
    assert [outcome(found) for found in outcomes] == [(two_pending[0], "APPROVAL-400009"), (two_pending[1], None)]
    assert service.get_approval(caller("req"), two_pending[1]).status is Status.APPROVED


def test_rule_20_each_refusal_is_the_error_its_patch_would_have_had(
    service: ApprovalService, two_pending: list[str]
) -> None:
    """The requestor cannot decide (400008 for the approver's comment, else 400002), another
    customer's approval and an unknown id are the same 404001, an id no approval can have is the
    path's 400001 and one with '/' the path's 404001."""
    others = service.create_approval(caller("buyer"), request("cart-buyer-big"))
    for who, extra in (("req", {}), ("req", {"approverComment": "mine"}), ("admin2", {})):
        decision = bulk(two_pending[0], others, "no-such-approval", "", "a/b", **extra)
        expected = [single_patch_error(service, who, approval_id, decision) for approval_id in decision.approvalIds]
        outcomes = service.decide_approvals(caller(who), decision)
        found = [(type(o.error), o.error.message, o.error.details) for o in outcomes if o.error is not None]
        assert found == expected, who
    codes = [outcome(found)[1] for found in service.decide_approvals(caller("req"), bulk(two_pending[0], others))]
    assert codes == ["APPROVAL-400002", "APPROVAL-404001"]


def test_rule_20_a_non_participant_learns_nothing_from_an_id(service: ApprovalService, two_pending: list[str]) -> None:
    refused = service.decide_approvals(caller("buyer"), bulk(two_pending[0], "no-such-approval"))
    assert [outcome(found)[1] for found in refused] == ["APPROVAL-404001"] * 2
    messages = [found.error.message.replace(found.approvalId, "<id>") for found in refused if found.error]
    assert messages[0] == messages[1]
    assert service.get_approval(caller("req"), two_pending[0]).status is Status.PENDING


def test_rule_20_one_batch_read_then_one_write_per_approval_decided(
    service: ApprovalService, store: InMemoryApprovalStore, two_pending: list[str]
) -> None:
    store.requests = 0
    service.decide_approvals(caller("admin"), bulk(*two_pending, "no-such-approval", "a/b"))
    assert store.requests == 1 + len(two_pending)


# --------------------------------------------------------------------------- rule 21
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": [], "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": [f"a{n}" for n in range(MAX_BULK_APPROVALS + 1)], "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": ["a1", "a2", "a1"], "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": "a1", "status": "APPROVED"}, "approvalIds"),
        ({"approvalIds": ["a1", 7], "status": "APPROVED"}, "approvalIds.1"),
        ({"approvalIds": ["a1"]}, "status"),
        ({"approvalIds": ["a1"], "status": "CLOSED"}, "status"),
        ({"approvalIds": ["a1"], "status": "approved"}, "status"),
        ({"approvalIds": ["a1"], "status": "APPROVED", "approverComment": 5}, "approverComment"),
        ({"approvalIds": ["a1"], "status": "APPROVED", "approverComment": TOO_LONG}, "approverComment"),
    ],
)
def test_rule_21_a_bulk_is_1_to_50_distinct_ids_and_one_decision(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate(body, BulkDecisionRequest)
    assert [detail.field for detail in refused.value.details] == [field]


def test_rule_21_50_ids_and_unknown_members_are_accepted() -> None:
    body = {"approvalIds": [f"a{n}" for n in range(MAX_BULK_APPROVALS)], "status": "DECLINED", "siteCode": "main"}
    assert len(validate(body, BulkDecisionRequest).approvalIds) == MAX_BULK_APPROVALS


def test_rule_21_a_retried_bulk_decides_nothing_twice(service: ApprovalService, two_pending: list[str]) -> None:
    decision = bulk(*two_pending)
    service.decide_approvals(caller("admin"), decision)
    again = service.decide_approvals(caller("admin"), decision)
    assert [outcome(found)[1] for found in again] == ["APPROVAL-400009"] * 2
    for approval_id in two_pending:
        history = service.get_approval(caller("req"), approval_id).history
        assert [entry.action for entry in history] == [HistoryAction.CREATED, HistoryAction.APPROVED]

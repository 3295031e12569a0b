"""Reading an approval: rule 6 (participants only) and rule 13 (overdue reads as EXPIRED)."""

from __future__ import annotations

import pytest

from approval_core.domain.errors import ApprovalNotFound
from approval_core.domain.models import Status
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore
from tests.unit.conftest import Clock, caller, request


@pytest.mark.parametrize("reader", ["req", "admin"])
def test_rule_6_requestor_and_approver_read_the_approval(service: ApprovalService, reader: str) -> None:
    approval_id = service.create_approval(caller("req"), request())
    assert service.get_approval(caller(reader), approval_id).id == approval_id


def test_rule_6_non_participant_gets_404001_not_403(service: ApprovalService) -> None:
    approval_id = service.create_approval(caller("req"), request())
    with pytest.raises(ApprovalNotFound):
        service.get_approval(caller("buyer"), approval_id)


def test_unknown_approval_is_404001(service: ApprovalService) -> None:
    with pytest.raises(ApprovalNotFound):
        service.get_approval(caller("req"), "missing")


def test_get_costs_one_store_read(service: ApprovalService, store: InMemoryApprovalStore) -> None:
    approval_id = service.create_approval(caller("req"), request())
    before = store.requests
    service.get_approval(caller("req"), approval_id)
    assert store.requests - before == 1


def test_rule_13_overdue_pending_approval_reads_as_expired(service: ApprovalService, clock: Clock) -> None:
    approval_id = service.create_approval(caller("req"), request())
    clock.advance(3599)
    assert service.get_approval(caller("req"), approval_id).status is Status.PENDING
    clock.advance(1)
    assert service.get_approval(caller("req"), approval_id).status is Status.EXPIRED


def test_rule_13_reading_writes_nothing(service: ApprovalService, store: InMemoryApprovalStore, clock: Clock) -> None:
    approval_id = service.create_approval(caller("req"), request())
    clock.advance(7200)
    service.get_approval(caller("req"), approval_id)
    assert store.approvals[("acme", approval_id)].status is Status.PENDING

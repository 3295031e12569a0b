"""The expiry sweep (rule 13): overdue PENDING approvals become EXPIRED, once, by "system"."""

from __future__ import annotations

import itertools

from approval_core.domain.models import HistoryAction, Status
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore
from tests.unit.conftest import Clock, caller, request


def always() -> bool:
    return True


def test_rule_13_sweep_expires_overdue_pending_approvals_only(service: ApprovalService, clock: Clock) -> None:
    overdue = service.create_approval(caller("req"), request())
    clock.advance(1800)
    fresh = service.create_approval(caller("req"), request("cart-req-2", "buyer"))
    clock.advance(1800)

    result = service.expire_overdue(always)

    assert (result.expired, result.skipped, result.still_overdue) == (1, 0, 0)
    expired = service.get_approval(caller("req"), overdue)
    assert expired.status is Status.EXPIRED
    assert expired.metadata.version == 2
    last = expired.history[-1]
    assert (last.by, last.action, last.status, last.version) == ("system", HistoryAction.EXPIRED, Status.EXPIRED, 2)
    assert service.get_approval(caller("req"), fresh).status is Status.PENDING


def test_rule_13_a_second_sweep_expires_nothing_twice(service: ApprovalService, clock: Clock) -> None:
    approval_id = service.create_approval(caller("req"), request())
    clock.advance(3600)
    service.expire_overdue(always)
    assert service.expire_overdue(always).expired == 0
    assert len(service.get_approval(caller("req"), approval_id).history) == 2


def test_rule_13_finished_approvals_are_not_expired(service: ApprovalService, clock: Clock) -> None:
    approval_id = service.create_approval(caller("req"), request())
    service.update_approval(caller("admin"), approval_id, [{"op": "replace", "path": "/status", "value": "APPROVED"}])
    clock.advance(7200)
    assert service.expire_overdue(always).expired == 0
    assert service.get_approval(caller("req"), approval_id).status is Status.APPROVED


def test_rule_13_sweep_stops_when_time_runs_out_and_reports_what_remains(
    service: ApprovalService, store: InMemoryApprovalStore, clock: Clock
) -> None:
    for cart, approver in [("cart-req", "admin"), ("cart-req-2", "admin"), ("cart-buyer-big", "admin")]:
        service.create_approval(caller("buyer" if "buyer" in cart else "req"), request(cart, approver))
    clock.advance(3600)
    budget = itertools.chain([True], itertools.repeat(False))

    first = service.expire_overdue(lambda: next(budget))

    assert (first.expired, first.still_overdue) == (1, 2)
    second = service.expire_overdue(always)
    assert (second.expired, second.still_overdue) == (2, 0)

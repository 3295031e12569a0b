"""What each change of an approval tells the rest of the platform."""

from __future__ import annotations

import pytest

from approval_core.domain.events import approval_changed
from approval_core.domain.models import Approval, HistoryAction

APPROVAL = {
    "id": "a1",
    "status": "PENDING",
    "resourceType": "CART",
    "action": "CHECKOUT",
    "resource": {"id": "cart-1"},
    "requestor": {"userId": "ann", "firstName": "Ann"},
    "approver": {"userId": "carol"},
    "expiryDate": "2026-12-01T00:00:00.000Z",
    "metadata": {"createdAt": "2026-11-24T00:00:00.000Z", "modifiedAt": "2026-11-24T00:00:00.000Z", "version": 1},
}


@pytest.mark.parametrize(
    ("change", "status", "detail_type"),
    [
        ("CREATED", "PENDING", "Approval Created"),
        ("UPDATED", "PENDING", "Approval Updated"),
        ("APPROVED", "APPROVED", "Approval Approved"),
        ("DECLINED", "DECLINED", "Approval Declined"),
        ("CLOSED", "CLOSED", "Approval Closed"),
        ("EXPIRED", "EXPIRED", "Approval Expired"),
    ],
)
def test_each_change_has_its_detail_type(change: str, status: str, detail_type: str) -> None:
    entry = {"at": "2026-11-24T01:00:00.000Z", "by": "carol", "action": change, "status": status, "version": 2}
    approval = Approval.model_validate(APPROVAL | {"status": status, "history": [entry]})
    event = approval_changed("acme", approval)
    assert event.detail_type == detail_type
    assert event.source == "approval.service"
    assert event.detail == {
        "tenant": "acme",
        "id": "a1",
        "version": 1,
        "change": HistoryAction(change).value,
        "status": status,
        "at": "2026-11-24T01:00:00.000Z",
        "by": "carol",
        "resourceType": "CART",
        "resourceId": "cart-1",
        "action": "CHECKOUT",
        "requestor": {"userId": "ann", "firstName": "Ann"},
        "approver": {"userId": "carol"},
    }


def test_every_detail_type_has_a_sample_in_events_bus_that_matches_the_schema() -> None:
    import json
    from pathlib import Path

    from approval_core.domain.events import DETAIL_TYPES

    samples = {
        json.loads(path.read_text())["detail-type"]: json.loads(path.read_text())
        for path in (Path(__file__).resolve().parents[2] / "events" / "bus").glob("*.json")
    }
    assert set(samples) == set(DETAIL_TYPES.values())
    produced = approval_changed(
        "acme",
        Approval.model_validate(
            APPROVAL
            | {
                "history": [
                    {
                        "at": "2026-11-24T01:00:00.000Z",
                        "by": "ann",
                        "action": "CREATED",
                        "status": "PENDING",
                        "version": 1,
                    }
                ]
            }
        ),
    )
    # A decision on a flow that leaves the approval PENDING names its tiers and who acts next (rule 27).
    decided_on_a_flow = approval_changed(
        "acme",
        Approval.model_validate(
            APPROVAL
            | {
                "pendingApprovers": [{"userId": "carol"}],
                "history": [
                    {
                        "at": "2026-11-24T01:00:00.000Z",
                        "by": "bob",
                        "action": "TIER_APPROVED",
                        "status": "PENDING",
                        "version": 2,
                        "tiers": [{"policyId": "big-orders", "tier": 1, "tierName": "Buyers"}],
                    }
                ],
            }
        ),
    )
    assert decided_on_a_flow.detail_type == "Approval Tier Approved"
    for sample in samples.values():
        expected = decided_on_a_flow if sample["detail-type"] == decided_on_a_flow.detail_type else produced
        assert sample["source"] == expected.source
        assert set(sample["detail"]) == set(expected.detail)

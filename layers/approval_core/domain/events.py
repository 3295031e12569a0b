"""The events the rest of the platform learns about approvals from: one per committed change.

The change is read from the approval itself: its newest history entry says what happened.
Consumers make duplicates harmless with ``detail.id`` plus ``detail.version``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from approval_core.domain.models import Approval, HistoryAction, HistoryEntry

SOURCE = "approval.service"

DETAIL_TYPES = {
    HistoryAction.CREATED: "Approval Created",
    HistoryAction.UPDATED: "Approval Updated",
    HistoryAction.APPROVED: "Approval Approved",
    HistoryAction.DECLINED: "Approval Declined",
    HistoryAction.CLOSED: "Approval Closed",
    HistoryAction.EXPIRED: "Approval Expired",
    HistoryAction.ORDERED: "Approval Ordered",
    HistoryAction.TIER_APPROVED: "Approval Tier Approved",
}


@dataclass(frozen=True)
class ApprovalEvent:
    detail_type: str
    detail: dict[str, Any]

    @property
    def source(self) -> str:
        return SOURCE


def approval_changed(tenant: str, approval: Approval) -> ApprovalEvent:
    """The event of the approval's latest change."""
    return _event(tenant, approval, approval.history[-1], approval.metadata.version)


def approval_changes(tenant: str, approval: Approval, entries_before: int | None) -> list[ApprovalEvent]:
    """The events of the approval's latest write, oldest first: one per history entry it added
    (``entries_before``: the history's length before the write; None: unknown, the last entry).
    A write adds one entry, except the approval by ordering (rule 17), which adds APPROVED and
    ORDERED at once; each entry counts one version, the last one the approval's."""
    written = approval.history[-1:] if entries_before is None else approval.history[entries_before:]
    last = approval.metadata.version
    return [_event(tenant, approval, entry, last - (len(written) - 1 - index)) for index, entry in enumerate(written)]


def _event(tenant: str, approval: Approval, change: HistoryEntry, version: int) -> ApprovalEvent:
    detail: dict[str, Any] = {
        "tenant": tenant,
        "id": approval.id,
        "version": version,
        "change": change.action.value,
        "status": approval.status.value,
        "at": change.at,
        "by": change.by,
        "resourceType": approval.resourceType.value,
        "resourceId": approval.resource.id,
        "action": approval.action.value,
        "requestor": approval.requestor.model_dump(exclude_none=True),
        "approver": approval.approver.model_dump(exclude_none=True),
        # Rule 27: which tiers a decision moved, and who can act next (to notify them).
        **(
            {
                "tiers": [step.model_dump(exclude_none=True) for step in change.tiers],
                "pendingApprovers": [p.model_dump(exclude_none=True) for p in approval.pendingApprovers or []],
            }
            if change.tiers
            else {}
        ),
    }
    return ApprovalEvent(detail_type=DETAIL_TYPES[change.action], detail=detail)

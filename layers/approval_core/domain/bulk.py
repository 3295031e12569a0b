"""Bulk decisions (rules 20 and 21): one decision, APPROVED or DECLINED, for up to
``MAX_BULK_APPROVALS`` approvals, each decided on its own as the PATCH of its ``/status`` would
decide it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from approval_core.domain.errors import ApprovalError
from approval_core.domain.models import Comment, Model, Status

# Rule 21: a bulk is 1 read and at most this many writes, well inside a Lambda's 10 s timeout.
MAX_BULK_APPROVALS = 50


class BulkDecisionRequest(Model):
    """Rule 21: 1 to 50 distinct ids (their form is checked per id, as a path's would be), one
    decision, an optional comment for all of them."""

    approvalIds: Annotated[list[str], Field(min_length=1, max_length=MAX_BULK_APPROVALS)]
    status: Literal[Status.APPROVED, Status.DECLINED]
    approverComment: Comment | None = None

    @field_validator("approvalIds")
    @classmethod
    def _each_id_once(cls, approval_ids: list[str]) -> list[str]:
        # Refused rather than decided once: the answer has one result per id sent, and two
        # results for one approval (a 204 and a 400009) would contradict each other.
        if len(set(approval_ids)) != len(approval_ids):
            raise ValueError("each approval id may appear only once")
        return approval_ids

    def as_patch(self) -> list[dict[str, Any]]:
        """The PATCH body that decides one of the approvals alone (rule 20)."""
        operations: list[dict[str, Any]] = [{"op": "replace", "path": "/status", "value": self.status.value}]
        if self.approverComment is not None:
            operations.append({"op": "add", "path": "/approverComment", "value": self.approverComment})
        return operations


@dataclass(frozen=True)
class BulkOutcome:
    """One approval's outcome: decided (``error`` is None), or the error its PATCH would have had."""

    approvalId: str
    error: ApprovalError | None = None

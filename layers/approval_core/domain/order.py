"""The order side of an approval (docs/api.md, rules 14 to 19): which resource types a tenant
approves, what the approver saw (the fingerprint), who may record the order an approved checkout
created, and when an approval no longer permits a checkout. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from approval_core.domain.caller import Caller
from approval_core.domain.errors import (
    ApprovalFinished,
    CreatedResourceAlreadySet,
    ResourceTypeActionMismatch,
    StatusChangeNotAllowed,
)
from approval_core.domain.models import (
    Approval,
    Model,
    PermittedReason,
    Reference,
    Resource,
    ResourceApproval,
    ResourceType,
    Status,
)
from approval_core.domain.reference import TenantSettings

# The members of a resource the approver decided on: items (quantities, prices), totals (with
# their currencies) and, for a quote, its version. Not the delivery window: both participants may
# move it on the approval (rule 8), and it does not change what is bought or what it costs.
APPROVED_CONTENT = frozenset({"items", "totalPrice", "subTotalPrice", "subtotalAggregate", "version"})
# The platform's machine client: the one that feeds the directory (``approval.directory_manage``)
# and manages approvals (``approval.approval_manage``). Customers never hold the directory scope.
PLATFORM_SCOPES = frozenset({"approval.approval_manage", "approval.directory_manage"})


class OrderRecord(Model):
    """The value of a PATCH ``add /createdResource`` (rule 16), checked as the document's member."""

    createdResource: Reference


def rule_14_type_and_action(resource_type: ResourceType, settings: TenantSettings | None) -> None:
    """Rule 14: CART with CHECKOUT always; QUOTE with CHECKOUT only where the tenant has switched
    quote approvals on (Emporix's ``approval.enableQuoteApprovalProcess``, off by default).
    CHECKOUT is the only action, so the pair is decided by the resource type and the tenant."""
    if resource_type is ResourceType.QUOTE and not (settings and settings.enable_quote_approval_process):
        raise ResourceTypeActionMismatch(
            "QUOTE approvals are switched off for this tenant (approval.enableQuoteApprovalProcess)"
        )


def fingerprint(resource: Resource) -> str:
    """Rule 18: a digest of what the approver saw. Numbers count by value (DynamoDB gives back
    ``10.1`` for ``10.10``), so the same content always has the same fingerprint."""
    content = resource.model_dump(mode="python", include=set(APPROVED_CONTENT), exclude_none=True)
    text = json.dumps(_canonical(content), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return format(Decimal(value).normalize(), "f")
    if isinstance(value, dict):
        return {key: _canonical(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_canonical(member) for member in value]
    return str(value)


def is_platform(caller: Caller) -> bool:
    """The commerce platform's machine client (rules 16 and 17)."""
    return caller.scopes >= PLATFORM_SCOPES


def decision_completes(approval: Approval, caller: Caller) -> bool:
    """Rule 17: whether the caller's decision completes the approval: without a flow, its
    approver's; with one (rule 26), an eligible approver's of a current tier whose approval
    finishes every policy. The platform's machine client acts for the approval's approver. The
    one place that says who may approve by ordering."""
    from approval_core.domain.flow import completes_approval  # not at import: policies parse queries

    return completes_approval(approval, deciding_user(approval, caller))


def deciding_user(approval: Approval, caller: Caller) -> str:
    """Who decides, for the rules and the history: the caller, or for the platform's machine
    client the approval's approver, for whom it acts."""
    return approval.approver.userId if is_platform(caller) else caller.user_id


def rule_16_17_may_record_order(approval: Approval, caller: Caller, status: Status) -> bool:
    """Rules 16 and 17: may the caller set ``createdResource`` on the approval, whose status is
    ``status`` (rule 13 applied)? True: the approval becomes APPROVED by this write too (rule 17).

    APPROVED without an order: a participant or the platform records it (rule 16). PENDING: only
    a decision that completes the approval (rule 17), else the error of an early approval. An
    order recorded already: APPROVAL-400015. Any other status: finished (APPROVAL-400009)."""
    if approval.createdResource is not None:
        raise CreatedResourceAlreadySet(
            f"Approval {approval.id} already records the order {approval.createdResource.id}"
        )
    if status is Status.APPROVED:
        return False
    if status is not Status.PENDING:
        raise ApprovalFinished()
    if not decision_completes(approval, caller):
        raise StatusChangeNotAllowed("Only the approver's decision can approve this approval by ordering")
    return True


def rule_18_19_reason(lock: ResourceApproval, current: Resource) -> PermittedReason | None:
    """Rules 18 and 19: why an APPROVED approval does not permit the checkout, if it does not: the
    order it was for is recorded (ALREADY_USED), or the resource differs from what the approver
    saw (RESOURCE_CHANGED). A lock from before fingerprints were kept is taken as unchanged."""
    if lock.createdResourceId is not None:
        return PermittedReason.ALREADY_USED
    if lock.fingerprint is not None and lock.fingerprint != fingerprint(current):
        return PermittedReason.RESOURCE_CHANGED
    return None

"""An approval's flow (rules 24 to 29): the matched policies, snapshotted when the approval is
created, with their eligible approvers and the decisions taken on each tier.

Pure functions over the ``flow`` of an ``Approval``; the service reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from approval_core.domain.errors import (
    AlreadyDecided,
    ApproverAboveOwnLimit,
    ApproverNotAssignable,
    TierNotCurrent,
)
from approval_core.domain.models import (
    Approval,
    FlowApproval,
    FlowPolicy,
    FlowStep,
    FlowTier,
    Money,
    Person,
    Price,
    Status,
)
from approval_core.domain.policies import MAX_ELIGIBLE_APPROVERS, Policy, tier_candidates
from approval_core.domain.reference import Customer


def approval_to_be(document: Mapping[str, Any]) -> dict[str, Any]:
    """What a policy's condition is evaluated over: the approval document as it will be created,
    with ``resource.itemCount`` (the cart's number of lines) for conditions on the item count."""
    resource = dict(document.get("resource") or {})
    resource["itemCount"] = len(resource.get("items") or [])
    return {**document, "resource": resource}


def within_own_limit(customer: Customer, total: Price | Money | None) -> bool:
    """Rule 28: an approver's own ``approvalLimit`` (none: no limit) covers the cart's total; a
    total in another currency than the limit's is above it, as for the company's limit (rule 4),
    whose value it compares too (``amount``, else the gross value)."""
    limit = customer.approval_limit
    value = total.value() if total is not None else None
    if limit is None or total is None or value is None:
        return True
    return total.currency == limit.currency and value <= limit.amount


def rule_24_build_flow(
    policies: Iterable[Policy], members: Mapping[str, Customer], requestor: Customer, total: Price | Money | None
) -> list[FlowPolicy]:
    """Rule 24: the snapshot of the matched policies, with each tier's eligible approvers as the
    directory has them now: never the requestor, and not those whose own limit is below the
    total (rule 28: they are recorded apart, so that their attempt is told why it is refused).
    APPROVAL-400006 when a tier has fewer eligible approvers than it requires, or the approval
    would have more than ``MAX_ELIGIBLE_APPROVERS`` approvers (membership grew since the policy
    was saved)."""
    flow: list[FlowPolicy] = []
    everyone: set[str] = set()
    for policy in policies:
        tiers: list[FlowTier] = []
        for number, tier in enumerate(policy.tiers, start=1):
            candidates = [member for member in tier_candidates(tier, members) if member.id != requestor.id]
            eligible = [member for member in candidates if within_own_limit(member, total)]
            above = [member for member in candidates if not within_own_limit(member, total)]
            if len(eligible) < tier.required:
                raise ApproverNotAssignable(
                    f"Policy {policy.id}, tier {number} ({tier.name}) needs {tier.required} approvers "
                    f"and has {len(eligible)} eligible"
                )
            everyone.update(member.id for member in candidates)
            tiers.append(
                FlowTier(
                    name=tier.name,
                    required=tier.required,
                    approvers=[person_of(member) for member in eligible],
                    aboveOwnLimit=[person_of(member) for member in above] or None,
                )
            )
        flow.append(
            FlowPolicy(
                policyId=policy.id, name=policy.name, version=policy.metadata.version, tiers=tiers, currentTier=1
            )
        )
    if len(everyone) > MAX_ELIGIBLE_APPROVERS:
        raise ApproverNotAssignable(
            f"The matched policies name {len(everyone)} approvers; an approval has at most {MAX_ELIGIBLE_APPROVERS}"
        )
    return flow


def person_of(customer: Customer) -> Person:
    return Person(userId=customer.id, firstName=customer.first_name, lastName=customer.last_name)


def first_tier_approvers(flow: Sequence[FlowPolicy]) -> list[Person]:
    """Rule 25: who may be the document's ``approver``: an eligible approver of a first tier."""
    found: dict[str, Person] = {}
    for policy in flow:
        for person in policy.tiers[0].approvers:
            found.setdefault(person.userId, person)
    return list(found.values())


def _approved_by(flow: Sequence[FlowPolicy]) -> set[str]:
    return {approval.userId for policy in flow for tier in policy.tiers for approval in tier.approvals}


def _current(policy: FlowPolicy) -> FlowTier | None:
    return None if policy.currentTier is None else policy.tiers[policy.currentTier - 1]


def pending_approvers(flow: Sequence[FlowPolicy]) -> list[Person]:
    """Rule 27: who can act now: the eligible approvers of the current tiers who have not approved."""
    done = _approved_by(flow)
    found: dict[str, Person] = {}
    for policy in flow:
        tier = _current(policy)
        for person in tier.approvers if tier else ():
            if person.userId not in done:
                found.setdefault(person.userId, person)
    return list(found.values())


def is_complete(flow: Sequence[FlowPolicy]) -> bool:
    return all(policy.currentTier is None for policy in flow)


@dataclass(frozen=True)
class Decision:
    """What one customer's decision did: the flow after it, the approval's status after it, and
    the tiers it acted on (for the history entry and the event)."""

    flow: list[FlowPolicy]
    status: Status
    steps: list[FlowStep]


def rule_26_decide(flow: Sequence[FlowPolicy], user_id: str, status: Status, at: str) -> Decision:
    """Rule 26: a decision by an eligible approver of a current tier. APPROVED counts on every
    current tier the caller is eligible in; a tier that reaches ``required`` hands over to the
    next; when every policy's last tier is done the approval is APPROVED. DECLINED declines it.

    Refused: an approver who approved already (APPROVAL-400013), whose own limit is below the
    total (APPROVAL-400012), or who is not an eligible approver of a current tier (their tier
    is still to come, or has passed: APPROVAL-400014).
    """
    if user_id in _approved_by(flow):
        raise AlreadyDecided()
    current = [
        (policy, tier)
        for policy in flow
        if (tier := _current(policy)) is not None and any(p.userId == user_id for p in tier.approvers)
    ]
    if not current:
        if any(
            person.userId == user_id for policy in flow for tier in policy.tiers for person in tier.aboveOwnLimit or ()
        ):
            raise ApproverAboveOwnLimit()
        raise TierNotCurrent()
    steps = [
        FlowStep(policyId=policy.policyId, tier=policy.currentTier or 0, tierName=tier.name) for policy, tier in current
    ]
    if status is Status.DECLINED:
        return Decision(flow=list(flow), status=Status.DECLINED, steps=steps)
    acting = {policy.policyId for policy, _ in current}
    updated: list[FlowPolicy] = []
    for policy in flow:
        tier = _current(policy)
        if tier is None or policy.policyId not in acting:
            updated.append(policy)
            continue
        approvals = [*tier.approvals, FlowApproval(userId=user_id, at=at)]
        tiers = list(policy.tiers)
        number = policy.currentTier or 0
        tiers[number - 1] = tier.model_copy(update={"approvals": approvals})
        moves_on = len(approvals) >= tier.required
        next_tier = (number + 1 if number < len(tiers) else None) if moves_on else number
        updated.append(policy.model_copy(update={"tiers": tiers, "currentTier": next_tier}))
    return Decision(flow=updated, status=Status.APPROVED if is_complete(updated) else Status.PENDING, steps=steps)


def completes_approval(approval: Approval, user_id: str) -> bool:
    """Whether an APPROVED decision by ``user_id`` now would make the approval APPROVED: without a
    flow, the caller is its approver; with one, the caller is an eligible approver of a current
    tier and their approval finishes every policy. (Ordering a cart on a PENDING approval is
    allowed only to this approver.)"""
    if approval.status is not Status.PENDING:
        return False
    if not approval.flow:
        return approval.approver.userId == user_id
    try:
        decision = rule_26_decide(approval.flow, user_id, Status.APPROVED, approval.metadata.modifiedAt)
    except (AlreadyDecided, ApproverAboveOwnLimit, TierNotCurrent):
        return False
    return decision.status is Status.APPROVED

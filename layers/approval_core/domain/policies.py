"""Approval policies (docs/api.md, "Approval policies", rules 22 to 29): which requests of a
company need which approvers, in up to five tiers, beyond the company's single approval limit.

Pure: the policy document, its validation against the company's members (the caller reads them),
and whether a policy applies to an approval-to-be. The flow an approval records from the matched
policies is in ``domain.flow``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from approval_core.domain.errors import ErrorDetail, ValidationFailed
from approval_core.domain.models import Identifier, Model, Text
from approval_core.domain.query import MAX_QUERY_LENGTH, Query, QueryError, parse_query
from approval_core.domain.reference import Customer

MAX_TIERS = 5
# Eligible approvers of one approval, over all its matched policies and tiers: each is a
# participant with copies written in the approval's transactions (100 items at most; see
# adapters/approval_store.py), so the bound is what one transaction can carry.
MAX_ELIGIBLE_APPROVERS = 25
MAX_POLICIES_PER_COMPANY = 20
MAX_APPROVER_ENTRIES = 25

GroupName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ApproverRef(Model):
    """One entry of a tier's approvers: a customer of the company, or a group of its members."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    userId: Identifier | None = None
    group: GroupName | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ApproverRef:
        if (self.userId is None) == (self.group is None):
            raise ValueError("names either a userId or a group")
        return self


class Tier(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Text
    approvers: Annotated[list[ApproverRef], Field(min_length=1, max_length=MAX_APPROVER_ENTRIES)]
    required: Annotated[int, Field(ge=1, le=MAX_ELIGIBLE_APPROVERS)] = 1


class AppliesTo(Model):
    """Requesters the policy applies to: any of the groups or any of the customers; both empty:
    every requester of the company."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    groups: Annotated[list[GroupName], Field(max_length=20)] = []
    customerIds: Annotated[list[Identifier], Field(max_length=100)] = []


class PolicyMetadata(Model):
    version: Annotated[int, Field(ge=1)]
    createdAt: str
    modifiedAt: str


class PolicyBody(Model):
    """A policy as a client writes it (POST, PUT). ``metadata`` is the service's: a client may
    send back what it read, and it is ignored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: Identifier | None = None
    companyId: Identifier
    name: Text
    active: bool = True
    appliesTo: AppliesTo = Field(default_factory=AppliesTo)
    condition: Annotated[str, StringConstraints(max_length=MAX_QUERY_LENGTH)] | None = None
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=MAX_TIERS)]
    metadata: dict[str, Any] | None = None


class Policy(Model):
    """A stored policy, as the API returns it."""

    id: Identifier
    companyId: Identifier
    name: Text
    active: bool
    appliesTo: AppliesTo
    condition: str | None = None
    tiers: list[Tier]
    metadata: PolicyMetadata

    def applies_to(self, requestor: Customer) -> bool:
        """Rule 22: the requester is named, or in a named group; nobody named: everyone."""
        named = self.appliesTo
        if not named.groups and not named.customerIds:
            return True
        return requestor.id in named.customerIds or requestor.in_group(*named.groups)

    def condition_holds(self, approval_to_be: Mapping[str, Any]) -> bool:
        """Rule 22: the condition, in the syntax of the list's ``q``, over the approval-to-be."""
        return condition_query(self.condition).matches(approval_to_be)

    def matches(self, requestor: Customer, approval_to_be: Mapping[str, Any]) -> bool:
        return self.active and self.applies_to(requestor) and self.condition_holds(approval_to_be)


def condition_query(condition: str | None) -> Query:
    """The parsed condition (it parsed when it was saved; an empty one matches everything)."""
    return parse_query(condition)


def rule_23_validate(body: PolicyBody, members: Iterable[Customer]) -> None:
    """Rule 23: a policy is checked when it is written, against the company's members now: its
    condition parses; every named customer is a member and every named group has members; a
    tier's ``required`` is at most the number of distinct customers who could approve in it; and
    the customers the policy names, over all its tiers, are at most ``MAX_ELIGIBLE_APPROVERS``.
    APPROVAL-400001 naming each field that fails."""
    details: list[ErrorDetail] = []
    if body.condition is not None:
        try:
            parse_query(body.condition)
        except QueryError as error:
            details.append(_detail("condition", str(error).removeprefix("q: ")))
    by_id = {member.id: member for member in members}
    everyone: set[str] = set()
    for tier_index, tier in enumerate(body.tiers):
        where = f"tiers.{tier_index}"
        candidates: set[str] = set()
        for index, approver in enumerate(tier.approvers):
            if approver.userId is not None:
                if approver.userId not in by_id:
                    details.append(
                        _detail(f"{where}.approvers.{index}.userId", f"is not a customer of {body.companyId}")
                    )
                else:
                    candidates.add(approver.userId)
            else:
                group = approver.group or ""
                in_group = {member.id for member in by_id.values() if member.in_group(group)}
                if not in_group:
                    details.append(
                        _detail(f"{where}.approvers.{index}.group", f"no customer of {body.companyId} is in it")
                    )
                candidates |= in_group
        if candidates and tier.required > len(candidates):
            details.append(
                _detail(f"{where}.required", f"{tier.required} approvals required of {len(candidates)} approvers")
            )
        everyone |= candidates
    if len(everyone) > MAX_ELIGIBLE_APPROVERS:
        details.append(
            _detail("tiers", f"names {len(everyone)} approvers; an approval has at most {MAX_ELIGIBLE_APPROVERS}")
        )
    if details:
        raise ValidationFailed(details=details)


def _detail(field: str, message: str) -> ErrorDetail:
    return ErrorDetail(field=field, message=f"{field}: {message}")


def tier_candidates(tier: Tier, members: Mapping[str, Customer]) -> list[Customer]:
    """The company's members a tier names, directly or by group, in the order it names them."""
    found: dict[str, Customer] = {}
    for approver in tier.approvers:
        if approver.userId is not None:
            if approver.userId in members:
                found.setdefault(approver.userId, members[approver.userId])
        else:
            group = approver.group or ""
            for member in sorted(members.values(), key=lambda customer: customer.id):
                if member.in_group(group):
                    found.setdefault(member.id, member)
    return list(found.values())

"""The approval-policy use cases (docs/api.md, "Approval policies"): who may manage which
company's policies, and each write validated against the company's members (rule 23)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from approval_core.domain.caller import Caller
from approval_core.domain.clock import iso, utc_now
from approval_core.domain.errors import (
    ConcurrentModification,
    ErrorDetail,
    NoPermission,
    PolicyNotFound,
    ValidationFailed,
    excerpt,
)
from approval_core.domain.models import is_identifier
from approval_core.domain.policies import MAX_POLICIES_PER_COMPANY, Policy, PolicyBody, rule_23_validate
from approval_core.domain.reference import B2B_ADMIN
from approval_core.domain.validation import validate
from approval_core.ports import Directory, PolicyStore

OPERATOR_SCOPE = "approval.policy_manage"
OWN_SCOPE = "approval.policy_manage_own"


@dataclass
class PolicyService:
    policies: PolicyStore
    directory: Directory
    clock: Callable[[], datetime] = utc_now

    def create_policy(self, caller: Caller, body: Any) -> Policy:
        request = validate(body, PolicyBody)
        self._may_manage(caller, request.companyId, refuse=NoPermission)
        members, existing = self.policies.company_members_and_policies(caller.tenant, request.companyId)
        if len(existing) >= MAX_POLICIES_PER_COMPANY:
            raise ValidationFailed(f"Company {request.companyId} has {MAX_POLICIES_PER_COMPANY} policies already")
        rule_23_validate(request, members)
        at = iso(self.clock())
        policy = _policy(request, request.id or uuid.uuid4().hex, version=1, created_at=at, modified_at=at)
        self.policies.create(caller.tenant, policy)
        return policy

    def list_policies(self, caller: Caller) -> list[Policy]:
        if OPERATOR_SCOPE in caller.scopes:
            return self.policies.of_companies(caller.tenant, None)
        return self.policies.of_companies(caller.tenant, self._own_companies(caller))

    def get_policy(self, caller: Caller, policy_id: str) -> Policy:
        return self._visible(caller, policy_id)

    def replace_policy(self, caller: Caller, policy_id: str, body: Any, if_match: str | None) -> Policy:
        stored = self._visible(caller, policy_id)
        request = validate(body, PolicyBody)
        if request.id not in (None, policy_id):
            raise _field_error("id", "must be the id of the path")
        if request.companyId != stored.companyId:
            raise _field_error("companyId", f"a policy stays with its company ({stored.companyId})")
        version = stored.metadata.version
        if if_match is not None and if_match.strip().removeprefix("W/").strip('"') != str(version):
            raise ConcurrentModification(f"If-Match names another version; the policy is at version {version}")
        members, _ = self.policies.company_members_and_policies(caller.tenant, stored.companyId)
        rule_23_validate(request, members)
        policy = _policy(
            request, policy_id, version=version + 1, created_at=stored.metadata.createdAt, modified_at=iso(self.clock())
        )
        self.policies.replace(caller.tenant, policy, expected_version=version)
        return policy

    def delete_policy(self, caller: Caller, policy_id: str) -> None:
        self.policies.delete(caller.tenant, self._visible(caller, policy_id))

    # ------------------------------------------------------------------ helpers
    def _visible(self, caller: Caller, policy_id: str) -> Policy:
        """The policy, for an operator or an admin of its company; anyone else: 404."""
        if not is_identifier(policy_id):
            raise _field_error("policyId", f"{excerpt(policy_id)} is not a policy id")
        policy = self.policies.get(caller.tenant, policy_id)
        if policy is None:
            raise PolicyNotFound(f"Policy {policy_id} does not exist")
        self._may_manage(caller, policy.companyId, refuse=PolicyNotFound)
        return policy

    def _may_manage(self, caller: Caller, company_id: str, refuse: type[NoPermission | PolicyNotFound]) -> None:
        if OPERATOR_SCOPE in caller.scopes:
            return
        if company_id not in self._own_companies(caller):
            raise refuse(f"Only an operator or a {B2B_ADMIN} of company {company_id} manages its policies")

    def _own_companies(self, caller: Caller) -> tuple[str, ...]:
        """Rule 29: a B2B_ADMIN manages the policies of the companies they belong to."""
        if OWN_SCOPE not in caller.scopes:
            return ()
        customer = self.directory.get_customers(caller.tenant, {caller.user_id}).get(caller.user_id)
        if customer is None:
            return ()
        groups = customer.groups if caller.groups is None else caller.groups
        return customer.company_ids if B2B_ADMIN in groups else ()


def _policy(request: PolicyBody, policy_id: str, version: int, created_at: str, modified_at: str) -> Policy:
    document = request.model_dump(mode="python", exclude={"metadata", "id"})
    return Policy.model_validate(
        {
            **document,
            "id": policy_id,
            "metadata": {"version": version, "createdAt": created_at, "modifiedAt": modified_at},
        }
    )


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", [ErrorDetail(field=field, message=f"{field}: {message}")])

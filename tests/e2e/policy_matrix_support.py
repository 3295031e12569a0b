"""The policy routes' operations, shared by test_policy_matrix.py and the route coverage check of
test_authorization_matrix.py."""

from __future__ import annotations

from dataclasses import dataclass

POLICY_SCOPES = frozenset({"approval.policy_manage", "approval.policy_manage_own"})
POLICY_ROUTES_PREFIX = "/approval/{tenant}/policies"
POLICIES = "/approval/{tenant}/policies"
POLICY = "/approval/{tenant}/policies/{policyId}"


@dataclass(frozen=True)
class PolicyOperation:
    name: str
    method: str
    path: str
    scopes: frozenset[str] = POLICY_SCOPES

    def __str__(self) -> str:
        return self.name


POLICY_CREATE = PolicyOperation("policy_create", "POST", POLICIES)
POLICY_LIST = PolicyOperation("policy_list", "GET", POLICIES)
POLICY_GET = PolicyOperation("policy_get", "GET", POLICY)
POLICY_REPLACE = PolicyOperation("policy_replace", "PUT", POLICY)
POLICY_DELETE = PolicyOperation("policy_delete", "DELETE", POLICY)
POLICY_OPERATIONS = (POLICY_CREATE, POLICY_LIST, POLICY_GET, POLICY_REPLACE, POLICY_DELETE)

"""Which tenant and scopes a customer's access token carries: the stack's user pool asks this
before it issues a token (its pre-token-generation trigger). Deny unless a rule allows: a user
without a valid tenant gets no approval scope at all.

Scopes (docs/api.md, "Identity and scopes"):
- every customer of a tenant: ``approval.approval_read_own approval.approval_manage_own``; which
  approvals they see and what they may do is still decided per request by the rules (1-13);
- a ``B2B_ADMIN`` also ``approval.policy_manage_own`` (the policies of their own companies);
- the operators group, when the stack names one: ``approval.approval_read approval.approval_manage
  approval.policy_manage approval.directory_manage``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ADMIN_GROUP = "B2B_ADMIN"
BUYER_GROUP = "B2B_BUYER"
REQUESTER_GROUP = "B2B_REQUESTER"
CUSTOMER_GROUPS = (ADMIN_GROUP, BUYER_GROUP, REQUESTER_GROUP)

CUSTOMER_SCOPES = ("approval.approval_read_own", "approval.approval_manage_own")
ADMIN_SCOPES = ("approval.policy_manage_own",)
OPERATOR_SCOPES = (
    "approval.approval_read",
    "approval.approval_manage",
    "approval.policy_manage",
    "approval.directory_manage",
)
# Every scope this service knows: a token carries none of them unless grant() gives it.
SCOPE_PREFIX = "approval."

TENANT_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,15}$")


@dataclass(frozen=True)
class AccessGrant:
    """What goes into the access token: the tenant claim (None: none) and the scopes."""

    tenant: str | None
    scopes: tuple[str, ...]


NO_ACCESS = AccessGrant(tenant=None, scopes=())


def grant(tenant: str | None, groups: Iterable[str], operators_group: str | None = None) -> AccessGrant:
    """The tenant claim and the scopes of a user with this tenant attribute and these groups."""
    tenant = (tenant or "").strip()
    if not TENANT_PATTERN.fullmatch(tenant):
        return NO_ACCESS
    member_of = set(groups)
    scopes = list(CUSTOMER_SCOPES)
    if ADMIN_GROUP in member_of:
        scopes.extend(ADMIN_SCOPES)
    if operators_group and operators_group in member_of:
        scopes.extend(OPERATOR_SCOPES)
    return AccessGrant(tenant=tenant, scopes=tuple(dict.fromkeys(scopes)))


def scopes_to_suppress(requested: Iterable[str], granted: AccessGrant) -> tuple[str, ...]:
    """Approval scopes the token would carry without being granted (an app client allowed to ask
    for them, a resource server added later): they are taken out."""
    return tuple(scope for scope in requested if scope.startswith(SCOPE_PREFIX) and scope not in granted.scopes)

"""What the policy routes share: a policy as the API returns it."""

from __future__ import annotations

from typing import Any

from approval_core.domain.policies import Policy


def policy_document(policy: Policy) -> dict[str, Any]:
    return policy.model_dump(mode="python", exclude_none=True)

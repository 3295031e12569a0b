from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the access token says.

    ``groups`` is None when the token carries no groups claim: the directory's groups count then.
    """

    tenant: str
    user_id: str
    groups: frozenset[str] | None = None
    # The token's scopes: they tell the platform's machine client (rules 16, 17) and, on the policy
    # routes, operators from admins.
    scopes: frozenset[str] = frozenset()

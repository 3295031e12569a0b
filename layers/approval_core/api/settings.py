"""Function configuration from the environment, validated at cold start: a bad deployment fails
before the first request, not during it, with an error naming the variable.

Plain dataclasses with explicit checks, not a pydantic model: validating a model builds its
schema at import (about 10 ms of every function's cold start, docs/benchmarks.md), for a dozen
strings and two numbers.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from approval_core.domain.clock import DEFAULT_EXPIRY_SECONDS

MAX_BODY_BYTES = 256 * 1024

SettingsT = TypeVar("SettingsT")


class SettingsError(ValueError):
    """A function's environment variable holds what the function cannot run with."""


@dataclass(frozen=True)
class Settings:
    approvals_table_name: str
    directory_table_name: str
    approval_expiry_seconds: int = DEFAULT_EXPIRY_SECONDS
    # Set only outside AWS (local mode, sam local, tests): DynamoDB Local, moto, ...
    dynamodb_endpoint: str | None = None
    # Claim names are configuration: Cognito, Auth0, Keycloak ... spell them differently.
    subject_claim: str = "sub"
    scope_claim: str = "scope"
    tenant_claim: str = "tenant"
    groups_claim: str = "cognito:groups"
    max_body_bytes: int = MAX_BODY_BYTES
    # Only the event publisher needs it.
    event_bus_name: str | None = None
    # Only create needs it: the Powertools idempotency records of Idempotency-Key requests.
    idempotency_table_name: str | None = None
    # Only the Emporix webhook receiver needs these: where it queues events, and the SSM path under
    # which each tenant's signing secret is a SecureString parameter named after the tenant.
    directory_events_queue_url: str | None = None
    webhook_secrets_path: str = "/approval-service/webhook-secrets"

    def __post_init__(self) -> None:
        _check_text(self, "approvals_table_name", shortest=3)
        _check_text(self, "directory_table_name", shortest=3)
        _check_number(self, "approval_expiry_seconds", lowest=1)
        _check_number(self, "max_body_bytes", lowest=1)


@dataclass(frozen=True)
class TokenTriggerSettings:
    """The pre-token-generation trigger's configuration: it reads no table, so it needs none."""

    # The claim the functions read the tenant from (TenantClaim): the trigger writes the same one.
    tenant_claim: str = "tenant"
    # The user pool attribute that holds the customer's tenant.
    tenant_attribute: str = "custom:tenant"
    # Empty: the stack has no operators group.
    operators_group: str | None = None

    def __post_init__(self) -> None:
        _check_text(self, "tenant_claim", shortest=1)
        _check_text(self, "tenant_attribute", shortest=1)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return from_environment(Settings)


@lru_cache(maxsize=1)
def token_trigger_settings() -> TokenTriggerSettings:
    return from_environment(TokenTriggerSettings)


def from_environment(kind: type[SettingsT]) -> SettingsT:
    """``kind`` from the variables named after its fields in upper case; unset or empty ones take
    the field's default. Raises ``SettingsError`` naming the variable."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(kind):  # type: ignore[arg-type]
        variable = field.name.upper()
        text = os.environ.get(variable)
        if not text:
            if field.default is dataclasses.MISSING:
                raise SettingsError(f"{variable} is not set")
            continue
        if field.type == "int":
            if not text.strip().isdigit():
                raise SettingsError(f"{variable}: must be a whole number, not {text[:40]!r}")
            values[field.name] = int(text)
        else:
            values[field.name] = text
    return kind(**values)


def _check_text(settings: object, name: str, shortest: int) -> None:
    value = getattr(settings, name)
    if not isinstance(value, str) or len(value) < shortest:
        raise SettingsError(f"{name.upper()}: must be at least {shortest} characters, not {value!r}")


def _check_number(settings: object, name: str, lowest: int) -> None:
    value = getattr(settings, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise SettingsError(f"{name.upper()}: must be a whole number of at least {lowest}, not {value!r}")

"""Function configuration from the environment, validated at cold start: a bad deployment fails
before the first request, not during it."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

from approval_core.domain.clock import DEFAULT_EXPIRY_SECONDS

MAX_BODY_BYTES = 256 * 1024


class Settings(BaseModel):
    approvals_table_name: str = Field(min_length=3)
    directory_table_name: str = Field(min_length=3)
    approval_expiry_seconds: int = Field(default=DEFAULT_EXPIRY_SECONDS, ge=1)
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


@lru_cache(maxsize=1)
def settings() -> Settings:
    fields = Settings.model_fields
    values = {name: os.environ[name.upper()] for name in fields if os.environ.get(name.upper())}
    return Settings.model_validate(values)


class TokenTriggerSettings(BaseModel):
    """The pre-token-generation trigger's configuration: it reads no table, so it needs none."""

    # The claim the functions read the tenant from (TenantClaim): the trigger writes the same one.
    tenant_claim: str = Field(default="tenant", min_length=1)
    # The user pool attribute that holds the customer's tenant.
    tenant_attribute: str = Field(default="custom:tenant", min_length=1)
    # Empty: the stack has no operators group.
    operators_group: str | None = None


@lru_cache(maxsize=1)
def token_trigger_settings() -> TokenTriggerSettings:
    fields = TokenTriggerSettings.model_fields
    values = {name: os.environ[name.upper()] for name in fields if os.environ.get(name.upper())}
    return TokenTriggerSettings.model_validate(values)

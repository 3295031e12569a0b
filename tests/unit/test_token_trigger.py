"""The user pool's pre-token-generation trigger (V2_0): which tenant claim and scopes each kind of
customer's access token gets. Events have the documented V2 shape (events/pre_token_generation.json);
the response is read where Cognito reads it
(response.claimsAndScopeOverrideDetails.accessTokenGeneration)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from approval_core.api.settings import TokenTriggerSettings
from approval_core.domain.access import CUSTOMER_SCOPES, OPERATOR_SCOPES, grant

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "events" / "pre_token_generation.json").read_text())
CUSTOMER = {"approval.approval_read_own", "approval.approval_manage_own"}
OPERATOR = {"approval.approval_read", "approval.approval_manage", "approval.policy_manage", "approval.directory_manage"}


class Context:
    function_name = "PreTokenGenerationFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:PreTokenGenerationFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def trigger() -> ModuleType:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ApprovalService")
    os.environ["OPERATORS_GROUP"] = "APPROVAL_OPERATORS"
    os.environ["TENANT_CLAIM"] = "tenant"
    from approval_core.api.settings import token_trigger_settings

    token_trigger_settings.cache_clear()
    spec = importlib.util.spec_from_file_location(
        "pre_token_generation_app", ROOT / "functions" / "pre_token_generation" / "app.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(tenant: str | None = "acme", groups: tuple[str, ...] = (), scopes: tuple[str, ...] = ()) -> dict[str, Any]:
    built = copy.deepcopy(SAMPLE)
    attributes = built["request"]["userAttributes"]
    attributes.pop("custom:tenant")
    if tenant is not None:
        attributes["custom:tenant"] = tenant
    built["request"]["groupConfiguration"]["groupsToOverride"] = list(groups)
    built["request"]["scopes"] = ["aws.cognito.signin.user.admin", *scopes]
    return built


def access_token(trigger: ModuleType, sent: dict[str, Any]) -> dict[str, Any]:
    answer = trigger.lambda_handler(sent, Context())
    assert answer["request"] == sent["request"], "the trigger must hand Cognito its own event back"
    return dict(answer["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"])


def test_requester_gets_the_tenant_claim_and_the_customer_scopes(trigger: ModuleType) -> None:
    token = access_token(trigger, event(groups=("B2B_REQUESTER",)))
    assert token["claimsToAddOrOverride"] == {"tenant": "acme"}
    assert set(token["scopesToAdd"]) == CUSTOMER


def test_buyer_gets_the_tenant_claim_and_the_customer_scopes(trigger: ModuleType) -> None:
    token = access_token(trigger, event(groups=("B2B_BUYER",)))
    assert token["claimsToAddOrOverride"] == {"tenant": "acme"}
    assert set(token["scopesToAdd"]) == CUSTOMER


def test_admin_also_gets_the_own_companies_policy_scope(trigger: ModuleType) -> None:
    token = access_token(trigger, event(groups=("B2B_ADMIN",)))
    assert token["claimsToAddOrOverride"] == {"tenant": "acme"}
    assert set(token["scopesToAdd"]) == CUSTOMER | {"approval.policy_manage_own"}
    assert not set(token["scopesToAdd"]) & OPERATOR


def test_customer_in_no_group_gets_the_customer_scopes_and_the_directory_decides(trigger: ModuleType) -> None:
    """No Cognito group: the token has no groups claim, so the service takes the customer's groups
    from the directory (docs/api.md, "Identity and scopes"); the rules still refuse what they must."""
    token = access_token(trigger, event(groups=()))
    assert token["claimsToAddOrOverride"] == {"tenant": "acme"}
    assert set(token["scopesToAdd"]) == CUSTOMER


def test_user_without_tenant_gets_no_approval_scope_and_no_tenant_claim(trigger: ModuleType) -> None:
    token = access_token(trigger, event(tenant=None, groups=("B2B_ADMIN", "APPROVAL_OPERATORS")))
    assert token["scopesToAdd"] == []
    assert "claimsToAddOrOverride" not in token


@pytest.mark.parametrize("tenant", ["", "  ", "Acme", "ac", "a" * 17, "1acme", "acme corp", "acme/other"])
def test_user_with_an_invalid_tenant_gets_no_approval_scope(trigger: ModuleType, tenant: str) -> None:
    token = access_token(trigger, event(tenant=tenant, groups=("B2B_REQUESTER",)))
    assert token["scopesToAdd"] == []
    assert "claimsToAddOrOverride" not in token


def test_operator_gets_every_scope_of_their_tenant(trigger: ModuleType) -> None:
    token = access_token(trigger, event(groups=("APPROVAL_OPERATORS",)))
    assert token["claimsToAddOrOverride"] == {"tenant": "acme"}
    assert set(token["scopesToAdd"]) == CUSTOMER | OPERATOR


def test_approval_scopes_not_granted_are_suppressed(trigger: ModuleType) -> None:
    """Should an app client ever be allowed to ask for approval scopes itself, the token still carries
    only those granted; Cognito's own scopes are left alone."""
    token = access_token(trigger, event(groups=("B2B_REQUESTER",), scopes=("approval.approval_manage", "openid")))
    assert token["scopesToSuppress"] == ["approval.approval_manage"]
    no_tenant = access_token(trigger, event(tenant=None, scopes=("approval.approval_read_own",)))
    assert no_tenant["scopesToSuppress"] == ["approval.approval_read_own"]


def test_id_token_carries_the_tenant_claim_too(trigger: ModuleType) -> None:
    answer = trigger.lambda_handler(event(groups=("B2B_BUYER",)), Context())
    assert answer["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"] == {
        "claimsToAddOrOverride": {"tenant": "acme"}
    }


def test_groups_claim_is_left_as_cognito_writes_it(trigger: ModuleType) -> None:
    """No groupOverrideDetails in the answer: Cognito keeps cognito:groups, which the service reads."""
    answer = trigger.lambda_handler(event(groups=("B2B_BUYER",)), Context())
    assert "groupOverrideDetails" not in answer["response"]["claimsAndScopeOverrideDetails"]


def test_sample_event_is_a_requester_of_acme(trigger: ModuleType) -> None:
    token = access_token(trigger, copy.deepcopy(SAMPLE))
    assert token == {"scopesToAdd": list(CUSTOMER_SCOPES), "claimsToAddOrOverride": {"tenant": "acme"}}


def test_the_tenant_claim_follows_the_configured_claim_name() -> None:
    from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PreTokenGenerationV2TriggerEvent

    from approval_core.api.token_trigger import customise_tokens

    sent = PreTokenGenerationV2TriggerEvent(event(groups=("B2B_BUYER",)))
    customise_tokens(sent, TokenTriggerSettings(tenant_claim="https://acme.example/tenant"))
    token = sent.raw_event["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
    assert token["claimsToAddOrOverride"] == {"https://acme.example/tenant": "acme"}


def test_without_an_operators_group_nobody_gets_operator_scopes() -> None:
    assert set(grant("acme", ["APPROVAL_OPERATORS"], operators_group=None).scopes) == CUSTOMER
    assert set(grant("acme", [""], operators_group="").scopes) == CUSTOMER
    assert set(OPERATOR_SCOPES) == OPERATOR

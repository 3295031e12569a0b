"""The HTTP edge: error bodies, decimal JSON and token claims as API Gateway hands them over."""

from __future__ import annotations

import base64
import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from approval_core.api.http import MANAGE_SCOPES, GatewayEvent, authorize, error_response, parse_body
from approval_core.api.settings import Settings
from approval_core.domain.errors import (
    ApprovalError,
    Forbidden,
    InvalidAccessToken,
    PayloadTooLarge,
    ValidationFailed,
)
from approval_core.domain.models import CreateApprovalRequest
from approval_core.json_text import dumps

SETTINGS = Settings(approvals_table_name="approvals", directory_table_name="directory")


def event(claims: dict[str, Any], body: str | None = None) -> GatewayEvent:
    return GatewayEvent(
        {
            "requestContext": {"authorizer": {"jwt": {"claims": claims}}},
            "body": body,
            "isBase64Encoded": False,
        }
    )


CLAIMS = {"sub": "ann", "tenant": "acme", "scope": "approval.approval_manage_own"}


def test_missing_field_message_matches_the_contract_example() -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_body(
            event(CLAIMS, '{"resourceId": "c", "action": "CHECKOUT", "approver": {"userId": "x"}}'),
            CreateApprovalRequest,
        )
    assert raised.value.message == "Problem with validation"
    assert [detail.message for detail in raised.value.details] == ["resourceType: cannot be null"]


def test_error_body_has_code_status_message_and_error_code() -> None:
    response = error_response(ValidationFailed(details=[]))
    assert response.status_code == 400
    assert (
        response.body
        == '{"code":400,"status":"Bad Request","message":"Problem with validation","errorCode":"APPROVAL-400001"}'
    )


def test_401_body_is_api_gateways() -> None:
    """The contract yields to API Gateway's JWT authorizer (http-api-troubleshooting-jwt): a token
    it let through but the service cannot use is answered with the authorizer's own 401."""
    response = error_response(InvalidAccessToken("the token has no subject"))
    assert response.status_code == 401
    assert response.body == '{"message":"Unauthorized"}'
    assert response.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token has no subject"'
    )


@pytest.mark.parametrize("error", [Forbidden(), PayloadTooLarge()])
def test_errors_without_error_code_omit_it(error: ApprovalError) -> None:
    assert "errorCode" not in str(error_response(error).body)


def test_decimals_are_written_exactly() -> None:
    assert dumps({"amount": Decimal("10.10")}) == '{"amount":10.10}'


def test_groups_claim_flattened_by_api_gateway_is_read_as_a_list() -> None:
    caller = authorize(event({**CLAIMS, "cognito:groups": "[B2B_BUYER B2B_ADMIN]"}), SETTINGS, "acme", MANAGE_SCOPES)
    assert caller.groups == frozenset({"B2B_BUYER", "B2B_ADMIN"})


def test_token_without_groups_claim_leaves_groups_to_the_directory() -> None:
    assert authorize(event(CLAIMS), SETTINGS, "acme", MANAGE_SCOPES).groups is None


def test_claim_names_are_configuration() -> None:
    settings = dataclasses.replace(SETTINGS, tenant_claim="custom:tenant", groups_claim="roles")
    claims = {
        "sub": "ann",
        "custom:tenant": "acme",
        "scope": "approval.approval_manage",
        "roles": ["B2B_REQUESTER"],
    }
    caller = authorize(event(claims), settings, "acme", MANAGE_SCOPES)
    assert (caller.tenant, caller.groups) == ("acme", frozenset({"B2B_REQUESTER"}))


def test_scopes_may_come_from_scp_as_api_gateway_reads_them() -> None:
    # http-api-jwt-authorizer: "scope or scp"; the authorizer renders a scp array as "[a b]".
    claims = {"sub": "ann", "tenant": "acme", "scp": "[approval.approval_manage other]"}
    assert authorize(event(claims), SETTINGS, "acme", MANAGE_SCOPES).user_id == "ann"


def test_a_base64_encoded_body_is_parsed_as_json() -> None:
    # API Gateway base64-encodes a body sent without a text Content-Type (a JSON body without
    # Content-Type, say); the event's decoded_body undoes it.
    body = '{"resourceType": "CART", "resourceId": "c", "action": "CHECKOUT", "approver": {"userId": "x"}}'
    encoded = GatewayEvent(
        {
            "requestContext": {"authorizer": {"jwt": {"claims": CLAIMS}}},
            "body": base64.b64encode(body.encode()).decode(),
            "isBase64Encoded": True,
        }
    )
    assert parse_body(encoded, CreateApprovalRequest).resourceId == "c"

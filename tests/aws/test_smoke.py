"""A deployed stack works end to end: its resources are as template.yaml promises, the JWT
authorizer keeps strangers out, and the functions reach DynamoDB with the permissions they have.

The read-only checks run on any stack, production included. Only test_an_approval_round_trip
writes: it creates one approval for APPROVAL_CART_ID and closes it again (a CLOSED approval
leaves the cart free for the next one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import from_item, to_item
from tests.aws.conftest import Stack
from tests.e2e.support import Api


# --------------------------------------------------------------------------- resources
def test_outputs_name_an_https_api(stack: Stack) -> None:
    assert stack.api_url.startswith("https://"), stack.api_url


@pytest.mark.parametrize("table", ["ApprovalsTable", "DirectoryTable"])
def test_tables_are_active_and_protected(stack: Stack, dynamodb: Any, table: str) -> None:
    name = stack.tables[table]
    description = dynamodb.describe_table(TableName=name)["Table"]
    assert description["TableStatus"] == "ACTIVE", name
    assert description.get("DeletionProtectionEnabled") is True, name
    assert description.get("SSEDescription", {}).get("Status") in ("ENABLED", "UPDATING"), name
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", name


def test_approvals_table_streams_its_changes(stack: Stack, dynamodb: Any) -> None:
    description = dynamodb.describe_table(TableName=stack.tables["ApprovalsTable"])["Table"]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_event_bus_exists(stack: Stack, events: Any) -> None:
    bus = events.describe_event_bus(Name=stack.outputs["EventBusName"])
    assert bus["Name"] == stack.outputs["EventBusName"]


# --------------------------------------------------------------------------- the gateway
def test_requests_without_a_valid_token_are_401_with_the_authorizers_own_body(api: Api) -> None:
    """What local mode answers too (tests/e2e/test_gateway_fidelity_jwt_authorizer_errors.py): the
    JWT authorizer's body, which an HTTP API cannot change, and its challenge
    (http-api-troubleshooting-jwt)."""
    for token in (None, "not.a.token"):
        response = api.call("GET", "/approval/smoketenant/approvals", token=token)
        assert response.status_code == 401, response.text
        assert response.json() == {"message": "Unauthorized"}, response.text
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith('Bearer scope="" error="invalid_token" error_description="'), dict(response.headers)


def test_cors_preflight_is_answered_by_the_gateway(api: Api, stack: Stack) -> None:
    allowed = stack.parameters.get("CorsAllowOrigin") or "*"
    origin = "https://shop.example.com" if allowed == "*" else allowed
    # What real clients send besides the token: the SDK's Emporix-Tenant, the storefront's
    # saas-token and X-Version (the stack's CorsAllowHeaders lists them by default).
    requested = ["authorization", "content-type", "emporix-tenant", "saas-token", "x-version"]
    response = api.call(
        "OPTIONS",
        "/approval/smoketenant/approvals",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(requested),
        },
    )
    assert response.status_code in (200, 204), response.text
    assert response.headers.get("access-control-allow-origin") in (origin, "*"), dict(response.headers)
    configured = {name.lower() for name in stack.parameters.get("CorsAllowHeaders", ",".join(requested)).split(",")}
    allowed = response.headers.get("access-control-allow-headers", "")
    assert set(requested) & configured <= {name.strip().lower() for name in allowed.split(",")}, dict(response.headers)


def test_cors_preflight_is_answered_for_a_path_without_a_route(api: Api, stack: Stack) -> None:
    """http-api-cors: the gateway answers preflights for any path; local mode does the same."""
    allowed = stack.parameters.get("CorsAllowOrigin") or "*"
    origin = "https://shop.example.com" if allowed == "*" else allowed
    response = api.call("OPTIONS", "/no/such/route", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
    assert response.status_code in (200, 204), response.text
    assert response.headers.get("access-control-allow-origin") in (origin, "*"), dict(response.headers)


# --------------------------------------------------------------------------- with a customer's token
def test_requester_lists_their_approvals(api: Api, tenant: str, requester_token: str) -> None:
    response = api.call(
        "GET",
        f"/approval/{tenant}/approvals",
        requester_token,
        params={"pageSize": 5},
        headers={"X-Total-Count": "true"},
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
    assert int(response.headers["X-Total-Count"]) >= len(response.json())


def test_an_unknown_approval_is_404001(api: Api, tenant: str, requester_token: str, unique: str) -> None:
    response = api.call("GET", f"/approval/{tenant}/approvals/{unique}", requester_token)
    assert (response.status_code, response.json()["errorCode"]) == (404, "APPROVAL-404001"), response.text


def test_an_unknown_cart_is_not_permitted(api: Api, tenant: str, requester_token: str, unique: str) -> None:
    body = {"resourceType": "CART", "resourceId": unique, "action": "CHECKOUT"}
    response = api.call("POST", f"/approval/{tenant}/approval/permitted", requester_token, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"action": "CHECKOUT", "permitted": False}


def test_another_tenants_path_is_403(api: Api, tenant: str, requester_token: str) -> None:
    other = "zz" + uuid.uuid4().hex[:10] if tenant.startswith("a") else "aa" + uuid.uuid4().hex[:10]
    response = api.call("GET", f"/approval/{other}/approvals", requester_token)
    assert response.status_code == 403, response.text
    # The service's own 403, not the authorizer's {"message":"Forbidden"}.
    assert (response.json()["code"], response.json()["status"]) == (403, "Forbidden"), response.text


# --------------------------------------------------------------------------- the one flow that writes
@pytest.fixture
def created(api: Api, tenant: str, requester_token: str) -> Iterator[list[str]]:
    """The ids the flow creates; whatever is still PENDING at the end is closed."""
    ids: list[str] = []
    yield ids
    for approval_id in ids:
        api.call("DELETE", f"/approval/{tenant}/approvals/{approval_id}", requester_token)


def test_an_approval_round_trip(
    api: Api,
    stack: Stack,
    dynamodb: Any,
    tenant: str,
    requester_token: str,
    approver_token: str,
    approver_id: str,
    cart_id: str,
    created: list[str],
) -> None:
    base = f"/approval/{tenant}"
    body = {
        "resourceType": "CART",
        "resourceId": cart_id,
        "action": "CHECKOUT",
        "approver": {"userId": approver_id},
        "comment": "smoke test: closed again at once",
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = api.call("POST", f"{base}/approvals", requester_token, json=body, headers=key)
    assert first.status_code == 201, first.text
    approval_id = first.json()["id"]
    created.append(approval_id)
    # A retry with the same key is the same request: the first answer, nothing created.
    again = api.call("POST", f"{base}/approvals", requester_token, json=body, headers=key)
    assert (again.status_code, again.json()) == (201, {"id": approval_id}), again.text

    for token in (requester_token, approver_token):
        read = api.call("GET", f"{base}/approvals/{approval_id}", token)
        assert read.status_code == 200, read.text
        assert (read.json()["status"], read.json()["approver"]["userId"]) == ("PENDING", approver_id)
    listed = api.call("GET", f"{base}/approvals", approver_token, params={"q": f"resource.id:{cart_id}"})
    assert approval_id in [approval["id"] for approval in listed.json()], listed.text
    permitted = api.call("POST", f"{base}/approval/permitted", requester_token, json=body)
    assert permitted.json()["permitted"] is False, permitted.text

    closed = api.call("DELETE", f"{base}/approvals/{approval_id}", requester_token)
    assert closed.status_code == 204, closed.text
    read = api.call("GET", f"{base}/approvals/{approval_id}", requester_token)
    assert read.json()["status"] == "CLOSED", read.text
    assert [entry["action"] for entry in read.json()["history"]] == ["CREATED", "CLOSED"]
    # What the API says is what the table holds.
    item = dynamodb.get_item(
        TableName=stack.tables["ApprovalsTable"], Key=to_item(keys.approval(tenant, approval_id)), ConsistentRead=True
    )["Item"]
    stored = from_item(item)
    assert (stored["status"], stored["metadata"]["version"]) == ("CLOSED", 2)

"""The README's walkthrough over HTTPS against a deployed stack, with customers the `world`
fixture made in the stack's own user pool: their access tokens come from Cognito and its
pre-token-generation trigger, not from anyone's hands."""

from __future__ import annotations

import jwt

from tests.aws.conftest import Stack, World
from tests.e2e.support import Api

CUSTOMER_SCOPES = {"approval.approval_read_own", "approval.approval_manage_own"}


def claims(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_the_trigger_puts_tenant_and_scopes_into_access_tokens(world: World, stack: Stack) -> None:
    tenant_claim = stack.parameters.get("TenantClaim") or "tenant"
    requester = claims(world.tokens["requester"])
    assert requester[tenant_claim] == world.tenant
    assert set(str(requester["scope"]).split()) >= CUSTOMER_SCOPES
    assert requester["cognito:groups"] == ["B2B_REQUESTER"]
    assert requester["sub"] == world.customers["requester"].user_id
    admin = claims(world.tokens["admin"])
    assert "approval.policy_manage_own" in str(admin["scope"]).split()
    nobody = claims(world.tokens["no-tenant"])
    assert tenant_claim not in nobody
    assert not any(scope.startswith("approval.") for scope in str(nobody.get("scope", "")).split())


def test_a_user_without_tenant_is_refused_by_the_gateway(world: World, api: Api) -> None:
    response = api.call("GET", f"/approval/{world.tenant}/approvals", world.tokens["no-tenant"])
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"}), response.text


def test_ann_asks_carol_carol_approves_ann_may_check_out(world: World, api: Api) -> None:
    base = f"/approval/{world.tenant}"
    ann, carol, bob = world.tokens["requester"], world.tokens["admin"], world.tokens["outsider"]
    resource = {"resourceType": "CART", "resourceId": world.cart, "action": "CHECKOUT"}

    created = api.call(
        "POST",
        f"{base}/approvals",
        ann,
        json={**resource, "approver": {"userId": world.customers["admin"].user_id}, "comment": "Drills"},
    )
    assert created.status_code == 201, created.text
    approval_id = created.json()["id"]
    world.approval_ids.append(approval_id)

    for reader in (ann, carol):
        read = api.call("GET", f"{base}/approvals/{approval_id}", reader)
        assert read.status_code == 200, read.text
        assert read.json()["status"] == "PENDING"
        assert read.json()["requestor"] == {
            "userId": world.customers["requester"].user_id,
            "firstName": "Ann",
            "lastName": "Lee",
        }
    hidden = api.call("GET", f"{base}/approvals/{approval_id}", bob)
    assert (hidden.status_code, hidden.json()["errorCode"]) == (404, "APPROVAL-404001"), hidden.text

    pending = api.call("GET", f"{base}/approvals", carol, params={"q": "status:PENDING"})
    assert approval_id in [approval["id"] for approval in pending.json()], pending.text
    approved = api.call(
        "PATCH",
        f"{base}/approvals/{approval_id}",
        carol,
        json=[
            {"op": "REPLACE", "path": "/status", "value": "APPROVED"},
            {"op": "ADD", "path": "/approverComment", "value": "Go ahead"},
        ],
    )
    assert approved.status_code == 204, approved.text
    read = api.call("GET", f"{base}/approvals/{approval_id}", ann).json()
    assert (read["status"], read["approverComment"], read["metadata"]["version"]) == ("APPROVED", "Go ahead", 2)

    permitted = api.call("POST", f"{base}/approval/permitted", ann, json=resource)
    assert permitted.json() == {
        "action": "CHECKOUT",
        "permitted": True,
        "status": "APPROVED",
        "approvalId": approval_id,
    }, permitted.text


def test_another_tenants_path_is_the_services_403(world: World, api: Api) -> None:
    response = api.call("GET", "/approval/zzzother/approvals", world.tokens["requester"])
    assert response.status_code == 403, response.text
    assert response.json().get("code") == 403  # the service's error body, not the gateway's

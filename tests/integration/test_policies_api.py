"""The approval-policy routes through their handlers against DynamoDB (rules 23 and 29): who may
manage which company's policies, validation on write, versions, and what is stored."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from tests.integration.conftest import FUNCTIONS, LambdaContext, sample_event

OPERATOR = "approval.policy_manage"
OWN = "approval.approval_read_own approval.approval_manage_own approval.policy_manage_own"
CUSTOMER = "approval.approval_read_own approval.approval_manage_own"
FUNCTION = {
    ("POST", False): "CreatePolicyFunction",
    ("GET", False): "ListPoliciesFunction",
    ("GET", True): "GetPolicyFunction",
    ("PUT", True): "ReplacePolicyFunction",
    ("DELETE", True): "DeletePolicyFunction",
}


def policy_body(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "big",
        "companyId": "c1",
        "name": "Big orders",
        "appliesTo": {"groups": ["B2B_REQUESTER"]},
        "condition": "resource.totalPrice.amount:>=5000 resource.totalPrice.currency:EUR",
        "tiers": [
            {"name": "Buyers", "approvers": [{"userId": "buyer"}, {"userId": "buyer2"}], "required": 1},
            {"name": "Admin", "approvers": [{"group": "B2B_ADMIN"}], "required": 1},
        ],
        **overrides,
    }


class Policies:
    def __init__(self, handlers: dict[str, ModuleType], tenant: str) -> None:
        self.handlers = handlers
        self.tenant = tenant

    def call(
        self,
        method: str,
        policy_id: str | None = None,
        body: Any = None,
        *,
        user: str = "ops",
        scope: str = OPERATOR,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        function = FUNCTION[(method, policy_id is not None)]
        event = sample_event(FUNCTIONS[function])
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        claims.update({"sub": user, "tenant": self.tenant, "scope": scope})
        claims.pop("cognito:groups", None)  # the directory's groups count
        path = f"/approval/{self.tenant}/policies" + (f"/{policy_id}" if policy_id is not None else "")
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"tenant": self.tenant, **({"policyId": policy_id} if policy_id else {})}
        event["body"] = None if body is None else json.dumps(body)
        event["headers"] = {**event["headers"], **(headers or {})}
        response = self.handlers[function].lambda_handler(event, LambdaContext())
        response["json"] = json.loads(response["body"]) if response.get("body") else None
        return response


@pytest.fixture
def policies(handlers: dict[str, ModuleType], tenant: str) -> Policies:
    return Policies(handlers, tenant)


def test_rule_29_operator_creates_reads_replaces_and_deletes_a_policy(policies: Policies) -> None:
    created = policies.call("POST", body=policy_body())
    assert created["statusCode"] == 201, created
    assert created["json"]["metadata"]["version"] == 1
    assert created["json"]["active"] is True
    assert policies.call("GET", "big")["json"]["tiers"][1]["approvers"] == [{"group": "B2B_ADMIN"}]
    assert [p["id"] for p in policies.call("GET")["json"]] == ["big"]
    replaced = policies.call("PUT", "big", policy_body(name="Bigger"), headers={"if-match": "1"})
    assert replaced["statusCode"] == 200, replaced
    assert (replaced["json"]["name"], replaced["json"]["metadata"]["version"]) == ("Bigger", 2)
    stale = policies.call("PUT", "big", policy_body(name="Lost"), headers={"if-match": "1"})
    assert (stale["statusCode"], stale["json"]["errorCode"]) == (409, "APPROVAL-409002")
    assert policies.call("DELETE", "big")["statusCode"] == 204
    assert policies.call("GET", "big")["statusCode"] == 404
    assert policies.call("GET")["json"] == []


def test_rule_29_an_admin_manages_the_policies_of_their_own_company(policies: Policies) -> None:
    created = policies.call("POST", body=policy_body(), user="admin", scope=OWN)
    assert created["statusCode"] == 201, created
    assert policies.call("GET", "big", user="admin", scope=OWN)["statusCode"] == 200
    assert [p["id"] for p in policies.call("GET", user="admin", scope=OWN)["json"]] == ["big"]


def test_rule_29_another_companys_admin_neither_sees_nor_writes_the_policy(policies: Policies) -> None:
    assert policies.call("POST", body=policy_body())["statusCode"] == 201
    assert policies.call("GET", "big", user="admin2", scope=OWN)["statusCode"] == 404
    assert policies.call("PUT", "big", policy_body(), user="admin2", scope=OWN)["statusCode"] == 404
    assert policies.call("DELETE", "big", user="admin2", scope=OWN)["statusCode"] == 404
    assert policies.call("GET", user="admin2", scope=OWN)["json"] == []
    refused = policies.call("POST", body=policy_body(id="mine"), user="admin2", scope=OWN)
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400008")
    assert policies.call("GET", "big")["statusCode"] == 200


def test_rule_29_a_customer_without_a_policy_scope_is_forbidden(policies: Policies) -> None:
    assert policies.call("GET", user="req", scope=CUSTOMER)["statusCode"] == 403
    assert policies.call("POST", body=policy_body(), user="buyer", scope=CUSTOMER)["statusCode"] == 403


def test_rule_29_a_buyer_given_the_own_scope_is_still_no_admin(policies: Policies) -> None:
    refused = policies.call("POST", body=policy_body(), user="buyer", scope=OWN)
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400008")


def test_rule_23_a_policy_naming_a_stranger_is_refused_naming_the_field(policies: Policies) -> None:
    body = policy_body(tiers=[{"name": "x", "approvers": [{"userId": "admin2"}]}])
    refused = policies.call("POST", body=body)
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert [d["field"] for d in refused["json"]["details"]] == ["tiers.0.approvers.0.userId"]


def test_rule_23_a_misspelt_field_and_a_duplicate_id_are_refused(policies: Policies) -> None:
    assert policies.call("POST", body={**policy_body(), "tier": []})["statusCode"] == 400
    assert policies.call("POST", body=policy_body())["statusCode"] == 201
    assert policies.call("POST", body=policy_body())["statusCode"] == 409

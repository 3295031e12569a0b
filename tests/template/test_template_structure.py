"""What template.yaml promises: the contract's routes with their scopes, tables that survive
mistakes, and least-privilege functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvals_local.template import load_template, read_document

ROOT = Path(__file__).resolve().parents[2]
READ = ("approval.approval_read_own", "approval.approval_read")
MANAGE = ("approval.approval_manage_own", "approval.approval_manage")
CONTRACT_ROUTES = {
    "POST /approval/{tenant}/approvals": MANAGE,
    "GET /approval/{tenant}/approvals": READ,
    "GET /approval/{tenant}/approvals/{approvalId}": READ,
    "PATCH /approval/{tenant}/approvals/{approvalId}": MANAGE,
    "DELETE /approval/{tenant}/approvals/{approvalId}": MANAGE,
    "POST /approval/{tenant}/approval/permitted": READ,
    "POST /approval/{tenant}/search/users": READ,
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(read_document(ROOT / "template.yaml")["Resources"])


def test_routes_are_exactly_the_contracts_each_behind_the_authorizer_with_its_scopes() -> None:
    routes = load_template(ROOT / "template.yaml").routes
    assert {route.route_key: tuple(sorted(route.scopes)) for route in routes} == {
        key: tuple(sorted(scopes)) for key, scopes in CONTRACT_ROUTES.items()
    }
    assert all(route.authorized for route in routes)


def test_each_route_has_its_own_function_and_sample_event() -> None:
    template = load_template(ROOT / "template.yaml")
    functions = [route.function for route in template.routes]
    assert len(set(functions)) == len(functions)
    for function in template.functions.values():
        assert (function.code_uri / "app.py").exists()


@pytest.mark.parametrize("table", ["ApprovalsTable", "DirectoryTable", "IdempotencyTable"])
def test_tables_are_protected(resources: dict[str, Any], table: str) -> None:
    resource = resources[table]
    properties = resource["Properties"]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


def test_functions_have_least_privilege_policies(resources: dict[str, Any]) -> None:
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions
    for name, function in functions.items():
        statements = [s for policy in function["Properties"]["Policies"] for s in policy["Statement"]]
        for statement in statements:
            actions = statement["Action"]
            assert all(action.split(":")[0] in ("dynamodb", "events", "sqs") for action in actions), name
            assert not any("*" in action for action in actions), name
            # Every grant names one of the stack's own resources (a table, its index, the bus...).
            resource = statement["Resource"]
            assert resource != "*", name
            assert "Fn::GetAtt" in resource or "${" in str(resource.get("Fn::Sub", "")), name


def test_api_stage_is_throttled(resources: dict[str, Any]) -> None:
    settings = resources["ApprovalApi"]["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0

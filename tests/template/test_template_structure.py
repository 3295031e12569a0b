"""What template.yaml promises: the contract's routes with their scopes, tables that survive
mistakes, an encrypted queue, least-privilege functions and a throttled API stage. (The alarms:
test_alarms.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from approvals_local.template import load_template, read_document

ROOT = Path(__file__).resolve().parents[2]
READ = ("approval.approval_read_own", "approval.approval_read")
MANAGE = ("approval.approval_manage_own", "approval.approval_manage")
DIRECTORY = ("approval.directory_manage",)
POLICIES = ("approval.policy_manage_own", "approval.policy_manage")
CONTRACT_ROUTES = {
    "POST /approval/{tenant}/approvals": MANAGE,
    "GET /approval/{tenant}/approvals": READ,
    "GET /approval/{tenant}/approvals/{approvalId}": READ,
    "PATCH /approval/{tenant}/approvals/{approvalId}": MANAGE,
    "DELETE /approval/{tenant}/approvals/{approvalId}": MANAGE,
    # Bulk decisions (our addition; Emporix has none): the PATCH's scopes.
    "POST /approval/{tenant}/approvals/bulk": MANAGE,
    "POST /approval/{tenant}/approval/permitted": READ,
    "POST /approval/{tenant}/search/users": READ,
    # The directory feed (second stage): {kind} is customers, companies or carts.
    "PUT /directory/{tenant}/{kind}/{id}": DIRECTORY,
    "GET /directory/{tenant}/{kind}/{id}": DIRECTORY,
    "DELETE /directory/{tenant}/{kind}/{id}": DIRECTORY,
    # Approval policies (rules 22-29).
    "POST /approval/{tenant}/policies": POLICIES,
    "GET /approval/{tenant}/policies": POLICIES,
    "GET /approval/{tenant}/policies/{policyId}": POLICIES,
    "PUT /approval/{tenant}/policies/{policyId}": POLICIES,
    "DELETE /approval/{tenant}/policies/{policyId}": POLICIES,
}
# Routes without a token: their function authenticates the request itself (a webhook signature).
UNAUTHORIZED_ROUTES = {"POST /directory/{tenant}/webhooks/emporix/{eventType}"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(read_document(ROOT / "template.yaml")["Resources"])


def test_routes_are_exactly_the_contracts_each_behind_the_authorizer_with_its_scopes() -> None:
    routes = load_template(ROOT / "template.yaml").routes
    authorized = [route for route in routes if route.route_key not in UNAUTHORIZED_ROUTES]
    assert {route.route_key: tuple(sorted(route.scopes)) for route in authorized} == {
        key: tuple(sorted(scopes)) for key, scopes in CONTRACT_ROUTES.items()
    }
    assert all(route.authorized for route in authorized)
    assert {route.route_key for route in routes if not route.authorized} == UNAUTHORIZED_ROUTES


def test_each_route_has_its_own_function_and_sample_event() -> None:
    template = load_template(ROOT / "template.yaml")
    functions = [route.function for route in template.routes]
    assert len(set(functions)) == len(functions)
    for function in template.functions.values():
        assert (function.code_uri / "app.py").exists()


def test_each_function_answers_the_route_the_template_gives_it() -> None:
    # A handler registered under another route key would miss events API Gateway routed to it.
    template = load_template(ROOT / "template.yaml")
    for route in template.routes:
        source = (template.functions[route.function].code_uri / "app.py").read_text()
        assert re.search(rf'@app\.gateway_route\("{re.escape(route.route_key)}"[,)]', source), route.route_key


# The service's own request headers, and those real clients send on every request: the SDK's
# Emporix-Tenant, the B2B storefront's saas-token and X-Version.
BROWSER_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
    "X-Total-Count",
    "Emporix-Tenant",
    "saas-token",
    "X-Version",
]


@pytest.mark.parametrize("header", BROWSER_HEADERS)
def test_browsers_may_send_each_header_the_service_and_real_clients_use(header: str) -> None:
    routes = load_template(ROOT / "template.yaml").routes
    for route in routes:
        assert route.cors is not None, route.route_key
        # Named, not covered by "*": browsers never let a wildcard cover Authorization.
        assert header.lower() in {allowed.lower() for allowed in route.cors.allow_headers}, route.route_key


def test_the_allowed_headers_are_a_parameter_whose_default_names_them(resources: dict[str, Any]) -> None:
    parameter = read_document(ROOT / "template.yaml")["Parameters"]["CorsAllowHeaders"]
    assert parameter["Default"].split(",") == BROWSER_HEADERS
    cors = resources["ApprovalApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowHeaders"] == {"Fn::Split": [",", {"Ref": "CorsAllowHeaders"}]}


def of_type(resource_type: str) -> list[str]:
    """The logical ids of the template's resources of one type (read when the tests are collected,
    so each one is a test case of its own)."""
    document = read_document(ROOT / "template.yaml")
    return sorted(name for name, resource in document["Resources"].items() if resource["Type"] == resource_type)


TABLES = of_type("AWS::DynamoDB::Table")
QUEUES = of_type("AWS::SQS::Queue")
FUNCTIONS = of_type("AWS::Serverless::Function")


def test_the_parametrized_checks_see_the_stacks_resources() -> None:
    assert {"ApprovalsTable", "DirectoryTable", "IdempotencyTable"} <= set(TABLES)
    assert QUEUES
    assert FUNCTIONS


@pytest.mark.parametrize("table", TABLES)
def test_tables_are_protected(resources: dict[str, Any], table: str) -> None:
    """Every table: kept when the stack is deleted or the table replaced, protected from deletion,
    restorable to any second of the last 35 days, encrypted at rest."""
    resource = resources[table]
    properties = resource["Properties"]
    assert resource.get("DeletionPolicy") == resource.get("UpdateReplacePolicy") == "Retain", table
    assert properties.get("DeletionProtectionEnabled") is True, table
    assert (properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True, table
    assert (properties.get("SSESpecification") or {}).get("SSEEnabled") is True, table
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize("queue", QUEUES)
def test_queues_are_encrypted(resources: dict[str, Any], queue: str) -> None:
    properties = resources[queue].get("Properties") or {}
    assert properties.get("SqsManagedSseEnabled") is True or properties.get("KmsMasterKeyId"), queue


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    """A function's policy statements. Only inline statements: a SAM policy template or a managed
    policy could not be checked here, so none is allowed."""
    found = []
    for policy in function["Properties"].get("Policies") or []:
        assert isinstance(policy, dict), f"managed policy {policy!r}: write the statements out"
        assert set(policy) == {"Statement"}, f"policy template {sorted(policy)}: write the statements out"
        found.extend(policy["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def named_resources(resource: Any) -> set[str]:
    """The logical ids (and pseudo parameters) one policy Resource entry is built from."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return {resource["Fn::GetAtt"][0]}
    if isinstance(resource, dict) and "Ref" in resource:
        return {resource["Ref"]}
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
        return {reference.split(".")[0] for reference in re.findall(r"\$\{([^}!]+)\}", text)}
    return set()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_have_least_privilege_policies(resources: dict[str, Any], function: str) -> None:
    granted = statements(resources[function])
    # `Policies: []` says so explicitly: the function calls no AWS service (the token trigger reads
    # its event only); its role has SAM's log and trace permissions and nothing else.
    calls_no_aws_service = resources[function]["Properties"].get("Policies") == []
    assert granted or calls_no_aws_service, f"{function} has no policy statements"
    for statement in granted:
        assert statement.get("Effect") == "Allow", function
        assert "NotAction" not in statement, function
        assert "NotResource" not in statement, function
        actions = as_list(statement["Action"])
        # ssm:GetParameter: the webhook secrets, by path (they are created outside the stack).
        assert all(action.split(":")[0] in ("dynamodb", "events", "sqs") for action in actions) or actions == [
            "ssm:GetParameter"
        ], (function, actions)
        # No wildcard at all: not dynamodb:*, not dynamodb:Get*, not *.
        assert not any("*" in action for action in actions), (function, actions)
        for resource in as_list(statement["Resource"]):
            # Every grant names one of the stack's own resources (a table, its index, the bus...).
            assert resource != "*", function
            assert not (isinstance(resource, str) and "*" in resource), (function, resource)
            names = named_resources(resource)
            if actions == ["ssm:GetParameter"]:
                assert "WebhookSecretsPath" in names, (function, resource)
                continue
            stack_resources = {name for name in names if name in resources}
            assert stack_resources, f"{function}: {resource!r} names none of this stack's resources"
            assert names <= set(resources) | {"AWS::Region", "AWS::AccountId", "AWS::Partition"}, (function, names)


@pytest.mark.parametrize("api", of_type("AWS::Serverless::HttpApi"))
def test_api_stage_is_throttled(resources: dict[str, Any], api: str) -> None:
    """Every route of the stage has a rate and a burst limit: none is left unthrottled."""
    properties = resources[api]["Properties"]
    settings = properties["DefaultRouteSettings"]
    assert 0 < settings["ThrottlingRateLimit"] <= 10_000
    assert 0 < settings["ThrottlingBurstLimit"] <= 5_000
    for route, overrides in (properties.get("RouteSettings") or {}).items():
        assert overrides.get("ThrottlingRateLimit", 1) > 0, route
        assert overrides.get("ThrottlingBurstLimit", 1) > 0, route

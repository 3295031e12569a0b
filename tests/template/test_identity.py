"""The stack's own identity set-up (JwtIssuer empty): a user pool whose access tokens the API
accepts. Groups and the tenant attribute exist, and the pre-token-generation trigger is wired as
Cognito needs it: event version V2_0 (access-token customisation), a feature plan that allows it,
and a permission for Cognito to invoke it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvals_local.template import read_document

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return read_document(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def resources(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["Resources"])


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}


def pool(resources: dict[str, Any]) -> dict[str, Any]:
    (found,) = of_type(resources, "AWS::Cognito::UserPool").values()
    return dict(found)


def test_the_trigger_runs_with_event_version_2_on_a_plan_that_allows_it(resources: dict[str, Any]) -> None:
    properties = pool(resources)["Properties"]
    config = properties["LambdaConfig"]["PreTokenGenerationConfig"]
    assert config["LambdaVersion"] == "V2_0"
    assert config["LambdaArn"] == {"Fn::GetAtt": ["PreTokenGenerationFunction", "Arn"]}
    # V2_0 (access-token customisation) needs Essentials or Plus; Lite refuses the trigger.
    assert properties["UserPoolTier"] in ("ESSENTIALS", "PLUS")
    # The older single-version setting would make Cognito send V1_0 events.
    assert "PreTokenGeneration" not in properties["LambdaConfig"]


def test_cognito_may_invoke_the_trigger_and_only_for_this_pool(resources: dict[str, Any]) -> None:
    permissions = [
        resource["Properties"]
        for resource in of_type(resources, "AWS::Lambda::Permission").values()
        if resource["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": ["PreTokenGenerationFunction", "Arn"]},
            "Principal": "cognito-idp.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": ["UserPool", "Arn"]},
            "SourceAccount": {"Ref": "AWS::AccountId"},
        }
    ]


def test_the_trigger_is_a_function_of_this_repository(resources: dict[str, Any]) -> None:
    function = resources["PreTokenGenerationFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert (ROOT / function["Properties"]["CodeUri"] / "app.py").is_file()
    assert (ROOT / "events" / "pre_token_generation.json").is_file()
    # Cognito gives a trigger 5 seconds.
    assert function["Properties"]["Timeout"] <= 5
    assert function["Properties"]["Environment"]["Variables"]["OPERATORS_GROUP"] == {"Ref": "OperatorsGroup"}


def test_identity_resources_exist_only_with_the_stacks_own_pool(document: dict[str, Any]) -> None:
    """With JwtIssuer set (another identity provider), no pool, group, trigger or permission."""
    for name, resource in document["Resources"].items():
        if resource["Type"].startswith("AWS::Cognito::") or name.startswith("PreTokenGeneration"):
            assert resource.get("Condition") in ("UseStackUserPool", "HasOperatorsGroup"), name
    assert document["Conditions"]["UseStackUserPool"] == {"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}


def test_the_customer_groups_exist_in_the_pool(resources: dict[str, Any]) -> None:
    groups = {
        resource["Properties"]["GroupName"]: resource
        for resource in of_type(resources, "AWS::Cognito::UserPoolGroup").values()
        if isinstance(resource["Properties"]["GroupName"], str)
    }
    assert set(groups) == {"B2B_ADMIN", "B2B_BUYER", "B2B_REQUESTER"}
    for group in groups.values():
        assert group["Properties"]["UserPoolId"] == {"Ref": "UserPool"}


def test_the_operators_group_is_named_by_a_parameter_and_optional(
    document: dict[str, Any], resources: dict[str, Any]
) -> None:
    operators = resources["OperatorsUserPoolGroup"]
    assert operators["Properties"]["GroupName"] == {"Ref": "OperatorsGroup"}
    assert operators["Condition"] == "HasOperatorsGroup"
    assert document["Parameters"]["OperatorsGroup"]["Default"] == "APPROVAL_OPERATORS"
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "OperatorsGroup"}, ""]}]} in document["Conditions"][
        "HasOperatorsGroup"
    ]["Fn::And"]


def test_the_tenant_is_an_immutable_custom_attribute_nobody_can_pick(resources: dict[str, Any]) -> None:
    properties = pool(resources)["Properties"]
    (tenant,) = [attribute for attribute in properties["Schema"] if attribute["Name"] == "tenant"]
    assert tenant["AttributeDataType"] == "String"
    assert tenant["Mutable"] is False
    assert tenant["StringAttributeConstraints"] == {"MinLength": "3", "MaxLength": "16"}
    # Customers are created by administrators: a self sign-up would choose its own tenant.
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    for client in of_type(resources, "AWS::Cognito::UserPoolClient").values():
        assert "custom:tenant" not in client["Properties"].get("WriteAttributes", []), "clients must not write it"
        assert "WriteAttributes" in client["Properties"], "without WriteAttributes a client may write every attribute"


def test_password_sign_in_for_tests_is_off_unless_the_parameter_enables_it(
    document: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert document["Parameters"]["AllowAdminPasswordSignIn"]["Default"] == "false"
    flows = resources["UserPoolClient"]["Properties"]["ExplicitAuthFlows"]["Fn::If"]
    assert flows[0] == "AllowsAdminPasswordSignIn"
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in flows[1]
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" not in flows[2]
    assert not any("PASSWORD" in flow and "ADMIN" not in flow for flow in flows[1] + flows[2])


def test_the_user_needs_the_pool_and_client_ids_from_the_outputs(document: dict[str, Any]) -> None:
    outputs = document["Outputs"]
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId", "TokenIssuer", "DirectoryTableName"} <= set(outputs)

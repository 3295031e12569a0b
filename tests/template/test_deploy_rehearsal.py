"""A deploy rehearsal: template.yaml transformed by SAM's translator (as CloudFormation does it) and
created in moto's CloudFormation. No substitute for AWS, but it catches what lint does not: a wrong
reference, a missing permission, a parameter without a usable default.

moto's CloudFormation has no Cognito, API Gateway v2 or CloudWatch alarm resources. The Cognito
resources are created here through moto's cognito-idp API from the template's own properties, in
the order CloudFormation would (pool, groups and client first; the trigger wired once the stack has
made the function); the API and the alarms are checked by the other template tests and
`sam validate --lint`.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import urllib.parse
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from approvals_local.template import load_template, read_document
from tests import moto_process

pytest.importorskip("moto.server")

ROOT = Path(__file__).resolve().parents[2]
REGION = moto_process.REGION
ARTIFACTS = "rehearsal-artifacts"
STACK = "approvals-rehearsal"
# What moto's CloudFormation cannot create (it warns and skips them, or fails on a reference).
NOT_IN_MOTO_CLOUDFORMATION = ("AWS::ApiGatewayV2::", "AWS::CloudWatch::Alarm", "AWS::Cognito::")
EVENT_BUSES: set[str] = set()
ENDPOINT: list[str] = []  # the rehearsal's moto server, while it runs
COGNITO_BY_API = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolGroup", "AWS::Cognito::UserPoolClient")


@dataclass
class Rehearsal:
    transformed: dict[str, Any]
    outputs: dict[str, str]
    physical: dict[str, str]  # logical id -> physical id of what the stack created
    pool_id: str | None
    client_id: str | None


def package(document: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` does to the code: every CodeUri/ContentUri becomes an S3 location."""
    for name, resource in document["Resources"].items():
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://{ARTIFACTS}/{name}.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://{ARTIFACTS}/{name}.zip"
    return document


# Run by the SAM CLI's own Python (.tools/sam): the translator pins a pydantic of its own, so it
# does not live in the project's environment. The policy loader is only asked for managed policies
# named without an ARN, which the template has none of.
TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

request = json.load(sys.stdin)
print(json.dumps(transform(request["template"], request["parameters"], NoManagedPolicies())))
"""


def sam_python() -> Path:
    sam = Path(os.environ.get("SAM_CLI") or ROOT / ".tools/sam/bin/sam")
    python = (sam if sam.is_absolute() else ROOT / sam).parent / "python"
    if not python.exists():
        pytest.skip("SAM CLI not installed (its translator transforms the template): run `make test`")
    return python


def translate(parameters: dict[str, str]) -> dict[str, Any]:
    """What CloudFormation's AWS::Serverless transform makes of the packaged template."""
    document = package(read_document(ROOT / "template.yaml"))
    result = subprocess.run(
        [str(sam_python()), "-c", TRANSLATE],
        input=json.dumps({"template": document, "parameters": parameters}),
        # The translator takes AWS::Region from a boto3 session of its own.
        env={
            **os.environ,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def upload_artifacts(document: dict[str, Any]) -> None:
    s3 = aws("s3")
    if ARTIFACTS not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=ARTIFACTS, CreateBucketConfiguration={"LocationConstraint": REGION})
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    for resource in document["Resources"].values():
        code = (resource.get("Properties") or {}).get("Code") or (resource.get("Properties") or {}).get("Content")
        if isinstance(code, dict) and "S3Key" in code:
            s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=archive.getvalue())


def substitute(value: Any, replacements: dict[tuple[str, str | None], str]) -> Any:
    """Resolve Ref/GetAtt/${...} of resources created outside the stack to their physical values."""
    if isinstance(value, list):
        return [substitute(item, replacements) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and (value["Ref"], None) in replacements:
        return replacements[(value["Ref"], None)]
    if set(value) == {"Ref"} and value["Ref"] in EVENT_BUSES:
        # moto's CloudFormation answers !Ref of an event bus with its Python object, not the name
        # AWS gives (and then cannot serialise the function using it): ask for the name instead.
        return {"Fn::GetAtt": [value["Ref"], "Name"]}
    if set(value) == {"Fn::GetAtt"}:
        name, attribute = value["Fn::GetAtt"]
        if (name, attribute) in replacements:
            return replacements[(name, attribute)]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for (name, attribute), physical in replacements.items():
            text = text.replace("${" + (f"{name}.{attribute}" if attribute else name) + "}", physical)
        return {"Fn::Sub": text}
    return {key: substitute(item, replacements) for key, item in value.items()}


def resolve_own(value: Any, physical: dict[str, str], arns: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn":
        return arns[value["Fn::GetAtt"][0]]
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return physical[value["Ref"]]
    return value


def create_cognito(transformed: dict[str, Any]) -> tuple[dict[tuple[str, str | None], str], dict[str, Any]]:
    """The stack's Cognito resources, created as CloudFormation would from their properties (the
    pool's trigger is wired later, once the stack has made the function). Returns the physical
    values to put in place of their references, and the pool's deferred LambdaConfig."""
    idp = aws("cognito-idp")
    resources = transformed["Resources"]
    replacements: dict[tuple[str, str | None], str] = {}
    deferred: dict[str, Any] = {}
    for name, resource in list(resources.items()):
        if resource["Type"] == "AWS::Cognito::UserPool":
            properties = dict(resource["Properties"])
            deferred = properties.pop("LambdaConfig", {})
            properties["PoolName"] = substitute(properties.pop("UserPoolName"), {}).get("Fn::Sub", "pool")
            properties["PoolName"] = properties["PoolName"].replace("${AWS::StackName}", STACK)
            pool = idp.create_user_pool(**properties)["UserPool"]
            replacements[(name, None)] = pool["Id"]
            replacements[(name, "Arn")] = pool["Arn"]
            del resources[name]
    for name, resource in list(resources.items()):
        properties = substitute(resource.get("Properties") or {}, replacements)
        if resource["Type"] == "AWS::Cognito::UserPoolGroup":
            group_name = properties["GroupName"]
            if isinstance(group_name, dict):  # the operators group: !Ref OperatorsGroup
                group_name = transformed["Parameters"]["OperatorsGroup"]["Default"]
            idp.create_group(UserPoolId=properties["UserPoolId"], GroupName=group_name)
            del resources[name]
        elif resource["Type"] == "AWS::Cognito::UserPoolClient":
            properties["ClientName"] = f"{STACK}-storefront"
            properties["ExplicitAuthFlows"] = properties["ExplicitAuthFlows"]["Fn::If"][2]
            client = idp.create_user_pool_client(**properties)["UserPoolClient"]
            replacements[(name, None)] = client["ClientId"]
            del resources[name]
    return replacements, deferred


def rehearse(parameters: dict[str, str], stack_name: str = STACK) -> Rehearsal:
    transformed = translate(parameters)
    EVENT_BUSES.update(
        name for name, resource in transformed["Resources"].items() if resource["Type"] == "AWS::Events::EventBus"
    )
    upload_artifacts(transformed)
    replacements, deferred_lambda_config = create_cognito(transformed) if not parameters.get("JwtIssuer") else ({}, {})
    body = substitute(transformed, replacements)
    cfn = aws("cloudformation")
    with warnings.catch_warnings():
        # One warning per resource moto skips (NOT_IN_MOTO_CLOUDFORMATION): checked below instead.
        warnings.simplefilter("ignore", UserWarning)
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    summaries = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    physical = {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for summary in summaries
        if summary["LogicalResourceId"] in transformed["Resources"]
    }
    pool_id = replacements.get(("UserPool", None))
    if pool_id:
        lambda_client = aws("lambda")
        arns = {
            name: lambda_client.get_function(FunctionName=physical[name])["Configuration"]["FunctionArn"]
            for name in physical
            if transformed["Resources"].get(name, {}).get("Type") == "AWS::Lambda::Function"
        }
        trigger = deferred_lambda_config["PreTokenGenerationConfig"]
        config = {**trigger, "LambdaArn": resolve_own(trigger["LambdaArn"], physical, arns)}
        aws("cognito-idp").update_user_pool(UserPoolId=pool_id, LambdaConfig={"PreTokenGenerationConfig": config})
    return Rehearsal(
        transformed=transformed,
        outputs={output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
        physical=physical,
        pool_id=pool_id,
        client_id=replacements.get(("UserPoolClient", None)),
    )


def aws(service: str) -> Any:
    """A client of the rehearsal's own moto server (never AWS, never the suite's other servers)."""
    assert ENDPOINT, "the moto_server fixture is not running"
    return moto_process.client(ENDPOINT[0], service)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[None]:
    with moto_process.moto_server() as endpoint:
        ENDPOINT[:] = [endpoint]
        yield
        ENDPOINT.clear()


@pytest.fixture(scope="module")
def stack(moto_server: None) -> Rehearsal:
    """The stack with every parameter at its default, as `sam deploy --guided` offers them."""
    return rehearse({})


# ------------------------------------------------------------------------------------ tests
def condition_holds(transformed: dict[str, Any], name: str) -> bool:
    """A condition of the transformed template under the parameters' defaults (the rehearsal's)."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (function, argument), *_ = node.items()
            if function == "Ref":
                return str(transformed["Parameters"][argument].get("Default", ""))
            if function == "Condition":
                return condition_holds(transformed, argument)
            if function == "Fn::Equals":
                return value(argument[0]) == value(argument[1])
            if function == "Fn::Not":
                return not value(argument[0])
            if function == "Fn::And":
                return all(value(part) for part in argument)
            if function == "Fn::Or":
                return any(value(part) for part in argument)
        return node

    return bool(value(transformed["Conditions"][name]))


def test_only_what_moto_cannot_create_is_left_out(stack: Rehearsal) -> None:
    left_out = {
        name
        for name, resource in stack.transformed["Resources"].items()
        if name not in stack.physical
        and resource["Type"] not in COGNITO_BY_API
        # A resource whose condition is false under the defaults is rightly not in the stack.
        and ("Condition" not in resource or condition_holds(stack.transformed, resource["Condition"]))
    }
    for name in left_out:
        assert stack.transformed["Resources"][name]["Type"].startswith(NOT_IN_MOTO_CLOUDFORMATION), name
    created_types = {stack.transformed["Resources"][name]["Type"] for name in stack.physical}
    assert {"AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::IAM::Role"} <= (
        created_types
    )


def test_tables_have_the_templates_keys_and_indexes(stack: Rehearsal) -> None:
    dynamodb = aws("dynamodb")
    expected = load_template(ROOT / "template.yaml").tables
    assert set(expected) == {"ApprovalsTable", "DirectoryTable", "IdempotencyTable"}
    for logical_id, definition in expected.items():
        table = dynamodb.describe_table(TableName=stack.physical[logical_id])["Table"]
        assert table["KeySchema"] == definition["KeySchema"], logical_id
        indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        for index in definition.get("GlobalSecondaryIndexes", []):
            assert indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"], (logical_id, index["IndexName"])
            assert indexes[index["IndexName"]]["Projection"] == index["Projection"]
    approvals = dynamodb.describe_table(TableName=stack.physical["ApprovalsTable"])["Table"]
    assert approvals["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "PendingByExpiry" in {index["IndexName"] for index in approvals["GlobalSecondaryIndexes"]}


def test_every_function_exists_with_the_layer_and_its_environment(stack: Rehearsal) -> None:
    lambda_client = aws("lambda")
    layers = {
        name.rstrip("0123456789abcdef"): name  # SAM adds a hash of the content
        for name, resource in stack.transformed["Resources"].items()
        if resource["Type"] == "AWS::Lambda::LayerVersion"
    }
    assert set(layers) == {"ApprovalCoreLayer", "XRaySdkLayer"}
    layer, xray_sdk = layers["ApprovalCoreLayer"], layers["XRaySdkLayer"]
    # The X-Ray SDK's layer exists only with DetailedTracing, and then goes with every function.
    assert stack.transformed["Resources"][xray_sdk]["Condition"] == "DetailedTracingOn"
    detailed_tracing_only = {"Fn::If": ["DetailedTracingOn", {"Ref": xray_sdk}, {"Ref": "AWS::NoValue"}]}
    # moto's CloudFormation creates the layer but attaches no layer to its functions (and gives the
    # layer no physical id): the reference is read from what goes to AWS, the layer from Lambda.
    (published,) = lambda_client.list_layers()["Layers"]
    assert published["LatestMatchingVersion"]["CompatibleRuntimes"] == ["python3.13"]
    functions = load_template(ROOT / "template.yaml").functions
    assert "PreTokenGenerationFunction" in functions
    for logical_id in functions:
        configuration = lambda_client.get_function(FunctionName=stack.physical[logical_id])["Configuration"]
        assert configuration["Runtime"] == "python3.13", logical_id
        assert configuration["Handler"] == "app.lambda_handler", logical_id
        # moto's CloudFormation drops Architectures (its functions are x86_64): read what goes to AWS.
        assert stack.transformed["Resources"][logical_id]["Properties"]["Architectures"] == ["arm64"], logical_id
        assert stack.transformed["Resources"][logical_id]["Properties"]["Layers"] == [
            {"Ref": layer},
            detailed_tracing_only,
        ], logical_id
        variables = configuration["Environment"]["Variables"]
        # References resolved to what the stack made, not left as logical ids.
        assert variables["APPROVALS_TABLE_NAME"] == stack.physical["ApprovalsTable"], logical_id
        assert variables["DIRECTORY_TABLE_NAME"] == stack.physical["DirectoryTable"], logical_id
        assert variables["TENANT_CLAIM"] == "tenant"
        assert variables["GROUPS_CLAIM"] == "cognito:groups"
        assert str(variables["APPROVAL_EXPIRY_SECONDS"]) == "604800"  # moto keeps a Number parameter a number
    create = lambda_client.get_function(FunctionName=stack.physical["CreateApprovalFunction"])["Configuration"]
    assert create["Environment"]["Variables"]["IDEMPOTENCY_TABLE_NAME"] == stack.physical["IdempotencyTable"]
    trigger = lambda_client.get_function(FunctionName=stack.physical["PreTokenGenerationFunction"])["Configuration"]
    assert trigger["Environment"]["Variables"]["OPERATORS_GROUP"] == "APPROVAL_OPERATORS"
    assert trigger["Timeout"] == 5


def role_statements(stack: Rehearsal, function: str) -> list[dict[str, Any]]:
    iam = aws("iam")
    configuration = aws("lambda").get_function(FunctionName=stack.physical[function])["Configuration"]
    role = configuration["Role"].rsplit("/", 1)[1]
    found = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            # moto renders a policy created by CloudFormation as a Python literal, not JSON.
            document = ast.literal_eval(urllib.parse.unquote(document))
        statement = document["Statement"]
        found.extend(statement if isinstance(statement, list) else [statement])
    return found


def test_functions_may_do_what_they_do_on_the_stacks_own_tables(stack: Rehearsal) -> None:
    table_arn = aws("dynamodb").describe_table(TableName=stack.physical["ApprovalsTable"])["Table"]["TableArn"]
    granted = role_statements(stack, "CreateApprovalFunction")
    writes = [statement for statement in granted if "dynamodb:PutItem" in statement["Action"]]
    assert any(statement["Resource"] == table_arn for statement in writes), granted
    expiry = role_statements(stack, "ExpireApprovalsFunction")
    assert {"Action": ["dynamodb:Query"], "Effect": "Allow", "Resource": f"{table_arn}/index/PendingByExpiry"} in expiry
    assert role_statements(stack, "PreTokenGenerationFunction") == []


def test_cognito_may_invoke_the_trigger_of_this_pool(stack: Rehearsal) -> None:
    assert stack.pool_id
    policy = json.loads(aws("lambda").get_policy(FunctionName=stack.physical["PreTokenGenerationFunction"])["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "cognito-idp.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    pool_arn = aws("cognito-idp").describe_user_pool(UserPoolId=stack.pool_id)["UserPool"]["Arn"]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == pool_arn


def test_the_pool_has_the_trigger_groups_and_tenant_attribute(stack: Rehearsal) -> None:
    idp = aws("cognito-idp")
    assert stack.pool_id
    pool = idp.describe_user_pool(UserPoolId=stack.pool_id)["UserPool"]
    trigger_arn = aws("lambda").get_function(FunctionName=stack.physical["PreTokenGenerationFunction"])[
        "Configuration"
    ]["FunctionArn"]
    assert pool["LambdaConfig"]["PreTokenGenerationConfig"] == {"LambdaArn": trigger_arn, "LambdaVersion": "V2_0"}
    (tenant,) = [attribute for attribute in pool["SchemaAttributes"] if attribute["Name"] == "custom:tenant"]
    assert tenant["Mutable"] is False
    assert tenant["AttributeDataType"] == "String"
    groups = {group["GroupName"] for group in idp.list_groups(UserPoolId=stack.pool_id)["Groups"]}
    assert groups == {"B2B_ADMIN", "B2B_BUYER", "B2B_REQUESTER", "APPROVAL_OPERATORS"}


def test_the_outputs_a_user_needs(stack: Rehearsal) -> None:
    outputs = stack.outputs
    assert outputs["UserPoolId"] == stack.pool_id
    assert outputs["UserPoolClientId"] == stack.client_id
    assert outputs["DirectoryTableName"] == stack.physical["DirectoryTable"]
    assert outputs["ApprovalsTableName"] == stack.physical["ApprovalsTable"]
    assert outputs["TokenIssuer"] == f"https://cognito-idp.{REGION}.amazonaws.com/{stack.pool_id}"
    assert re.match(r"^https://", outputs["ApiUrl"]), outputs["ApiUrl"]
    assert outputs["EventBusName"] == f"{STACK}-approvals"


def test_with_another_identity_provider_the_stack_has_no_pool_and_still_creates(moto_server: None) -> None:
    other = rehearse(
        {"JwtIssuer": "https://example.eu.auth0.com/", "JwtAudience": "https://approvals"}, stack_name="approvals-auth0"
    )
    # The template still holds them; the condition keeps the stack from creating them.
    resources = other.transformed["Resources"]
    made = {resources[name]["Type"] for name in other.physical}
    assert not any(kind.startswith("AWS::Cognito::") for kind in made)
    assert "PreTokenGenerationFunction" not in other.physical
    assert "PreTokenGenerationPermission" not in other.physical
    assert other.outputs["TokenIssuer"] == "https://example.eu.auth0.com/"
    assert "UserPoolId" not in other.outputs
    assert "CreateApprovalFunction" in other.physical

"""Every function of template.yaml has a sample event in events/, and that event, unchanged,
works against the demo seed (local/demo-seed.json): what `sam local invoke -e` would show."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

import boto3
import pytest

from approvals_local.seed import load_seed, read_seed
from approvals_local.template import load_template
from tests.integration.conftest import FUNCTIONS, LambdaContext, sample_event

ROOT = Path(__file__).resolve().parents[2]

# The samples name an approval id that does not exist, so the calls on one approval answer 404.
HTTP_STATUS = {
    "CreateApprovalFunction": 201,
    "GetApprovalFunction": 404,
    "ListApprovalsFunction": 200,
    "UpdateApprovalFunction": 404,
    "CloseApprovalFunction": 404,
    # The sample's ids name no approval: 200, each id with its 404.
    "DecideApprovalsFunction": 200,
    "CheckPermittedFunction": 200,
    "SearchUsersFunction": 200,
    "PutDirectoryEntryFunction": 200,
    "GetDirectoryEntryFunction": 200,
    "DeleteDirectoryEntryFunction": 200,
    "ReceiveEmporixWebhookFunction": 200,
    # carol, B2B_ADMIN of acme-eu, manages the "big-orders" policy: the samples run in the
    # template's order, so it is created, listed, read, replaced and deleted.
    "CreatePolicyFunction": 201,
    "ListPoliciesFunction": 200,
    "GetPolicyFunction": 200,
    "ReplacePolicyFunction": 200,
    "DeletePolicyFunction": 204,
}
# The functions that are not behind the API: what Lambda gets back from them.
RESULT = {
    "ExpireApprovalsFunction": lambda result: set(result) == {"expired", "skipped", "still_overdue"},
    "PublishApprovalEventsFunction": lambda result: result == {"batchItemFailures": []},
    # Cognito's trigger event comes back with the tenant claim and the requester's scopes added.
    "PreTokenGenerationFunction": lambda result: (
        result["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
        == {
            "claimsToAddOrOverride": {"tenant": "acme"},
            "scopesToAdd": ["approval.approval_read_own", "approval.approval_manage_own"],
        }
    ),
    "ApplyDirectoryEventsFunction": lambda result: result == {"batchItemFailures": []},
}


@pytest.fixture(scope="module")
def demo_tenant(tables: dict[str, str]) -> None:
    from approval_core.api.wiring import dynamodb_client

    load_seed(dynamodb_client(), tables["DirectoryTable"], read_seed(ROOT / "local" / "demo-seed.json"))
    # The secret the sample webhook delivery is signed with.
    ssm = boto3.client("ssm", endpoint_url=os.environ["AWS_ENDPOINT_URL_SSM"])
    name = f"{os.environ['WEBHOOK_SECRETS_PATH']}/acme"
    ssm.put_parameter(Name=name, Value="acme-webhook-secret", Type="SecureString", Overwrite=True)


def test_every_function_has_a_sample_event() -> None:
    assert set(load_template(ROOT / "template.yaml").functions) == set(FUNCTIONS) == set(HTTP_STATUS) | set(RESULT)
    for name in FUNCTIONS.values():
        assert (ROOT / "events" / f"{name}.json").is_file()


@pytest.mark.parametrize("function", list(HTTP_STATUS))
def test_sample_event_invokes_its_api_function(
    handlers: dict[str, ModuleType], demo_tenant: None, function: str
) -> None:
    response = handlers[function].lambda_handler(sample_event(FUNCTIONS[function]), LambdaContext())
    assert response["statusCode"] == HTTP_STATUS[function], response
    if response.get("body"):
        json.loads(response["body"])


@pytest.mark.parametrize("function", list(RESULT))
def test_sample_event_invokes_its_background_function(handlers: dict[str, ModuleType], function: str) -> None:
    result = handlers[function].lambda_handler(sample_event(FUNCTIONS[function]), LambdaContext())
    assert RESULT[function](result), result

"""Smoke tests against a deployed stack: `make e2e-aws STACK=<stack name>`.

The stack's CloudFormation outputs name the API, the tables, the event bus and the user pool.
With the stack's own pool (and AllowAdminPasswordSignIn=true), the `world` fixture makes customers
of a fresh tenant there, signs them in, loads their directory entries and deletes all of it at the
end (test_walkthrough.py). A stack with another identity provider is tested with access tokens from
the environment instead: APPROVAL_TENANT, APPROVAL_TOKEN_REQUESTER, APPROVAL_TOKEN_APPROVER and, for
the flow that creates an approval, APPROVAL_CART_ID (test_smoke.py).

Without STACK or without AWS credentials every test here skips, saying why. The default test run
(`make test`, plain `pytest`) does not even collect this folder unless STACK is set; naming it
(`pytest tests/aws`) collects it. Every AWS and HTTP call has short timeouts: nothing hangs on
the network.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.aws.customers import (
    Customer,
    PoolCustomers,
    approval_partitions,
    directory_partitions,
    purge_partitions,
)
from tests.e2e.support import Api, run_cli

HERE = Path(__file__).resolve().parent
AWS_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})
HTTP_TIMEOUT = (5, 30)  # connect, read: API Gateway answers within 30 s or not at all
OUTPUTS = ("ApiUrl", "ApprovalsTableName", "DirectoryTableName", "EventBusName")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave this folder out of runs that did not ask for it, unless STACK is set."""
    if os.environ.get("STACK") or _named_on_the_command_line(config):
        return None
    return True


def _named_on_the_command_line(config: pytest.Config) -> bool:
    """Whether the run's paths (the command line's, or testpaths when it has none) are this folder
    or something in it."""
    invoked_from = config.invocation_params.dir
    for argument in config.args:
        path = (invoked_from / argument.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


# --------------------------------------------------------------------------- the stack
@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    session: boto3.session.Session

    @property
    def api_url(self) -> str:
        return self.outputs["ApiUrl"].rstrip("/")

    @property
    def tables(self) -> dict[str, str]:
        """Logical id -> table name."""
        return {
            "ApprovalsTable": self.outputs["ApprovalsTableName"],
            "DirectoryTable": self.outputs["DirectoryTableName"],
        }


@pytest.fixture(scope="session")
def stack() -> Stack:
    name = os.environ.get("STACK")
    if not name:
        pytest.skip("STACK is not set: `make e2e-aws STACK=<stack name>` runs these against a deployed stack")
    # botocore's own lookup: environment, shared config and SSO profiles, container and instance roles.
    if botocore.session.get_session().get_credentials() is None:
        pytest.skip(f"no AWS credentials (botocore found none): cannot read the outputs of stack {name}")
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    if not session.region_name:
        pytest.fail(f"no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) to stack {name}'s", pytrace=False)
    problem = ""
    try:
        described = session.client("cloudformation", config=AWS_CONFIG).describe_stacks(StackName=name)
    except (BotoCoreError, ClientError) as error:
        problem = str(error)
    if problem:  # reported outside the except block: the message, not botocore's traceback
        pytest.fail(f"cannot describe stack {name} in {session.region_name}: {problem}", pytrace=False)
    stack = described["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    parameters = {
        p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", "")) for p in stack.get("Parameters", [])
    }
    if missing := [key for key in OUTPUTS if key not in outputs]:
        pytest.fail(f"stack {name} has no outputs {', '.join(missing)}: is it this service's stack?", pytrace=False)
    return Stack(name, session.region_name, outputs, parameters, session)


@pytest.fixture(autouse=True)
def _needs_the_stack(stack: Stack) -> None:
    """Every test here skips (with the reason) when there is no stack to test."""


@pytest.fixture(scope="session")
def dynamodb(stack: Stack) -> Any:
    return stack.session.client("dynamodb", config=AWS_CONFIG)


@pytest.fixture(scope="session")
def events(stack: Stack) -> Any:
    return stack.session.client("events", config=AWS_CONFIG)


# --------------------------------------------------------------------------- the API
@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[Api]:
    client = Api(stack.api_url, timeout=HTTP_TIMEOUT)
    yield client
    client.session.close()


def _environment(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set ({what}; README, 'Testing against real DynamoDB / a deployed stack')")
    return value


@pytest.fixture(scope="session")
def tenant() -> str:
    return _environment("APPROVAL_TENANT", "the tenant the tokens are for")


@pytest.fixture(scope="session")
def requester_token() -> str:
    return _environment("APPROVAL_TOKEN_REQUESTER", "an access token of a B2B_REQUESTER customer")


@pytest.fixture(scope="session")
def approver_token() -> str:
    return _environment("APPROVAL_TOKEN_APPROVER", "an access token of a B2B_ADMIN of the requester's company")


@pytest.fixture(scope="session")
def approver_id(approver_token: str) -> str:
    """The approver's customer id: APPROVAL_APPROVER_ID, else the token's subject."""
    explicit = os.environ.get("APPROVAL_APPROVER_ID")
    if explicit:
        return explicit
    claims = jwt.decode(approver_token, options={"verify_signature": False})
    return str(claims[os.environ.get("SUBJECT_CLAIM", "sub")])


@pytest.fixture(scope="session")
def cart_id() -> str:
    return _environment("APPROVAL_CART_ID", "a cart of the requester in the directory table, to create an approval for")


@pytest.fixture
def unique() -> str:
    return f"smoke{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- customers of its own
@dataclass
class World:
    """A tenant of its own in the stack: customers in its user pool, their directory entries and
    the approvals the tests make. Everything is deleted when the session ends."""

    tenant: str
    customers: dict[str, Customer]  # role -> customer
    tokens: dict[str, str]  # role -> access token
    company: str
    other_company: str
    cart: str
    approval_ids: list[str]


@pytest.fixture(scope="session")
def world(stack: Stack, dynamodb: Any) -> Iterator[World]:
    pool_id, client_id = stack.outputs.get("UserPoolId"), stack.outputs.get("UserPoolClientId")
    if not pool_id or not client_id:
        pytest.skip(
            f"stack {stack.name} uses another identity provider (JwtIssuer): no pool to make customers in; "
            "the APPROVAL_TOKEN_* tests cover it"
        )
    if stack.parameters.get("AllowAdminPasswordSignIn") != "true":
        pytest.skip(
            f"stack {stack.name} does not allow admin password sign-in: deploy it with "
            "AllowAdminPasswordSignIn=true (docs/deploy.md, dev environment) to run the walkthrough"
        )
    tenant = f"e2e{uuid.uuid4().hex[:10]}"
    pool = PoolCustomers(stack.session.client("cognito-idp", config=AWS_CONFIG), pool_id, client_id, tenant, tenant)
    tenantless = PoolCustomers(pool.idp, pool_id, client_id, None, tenant)
    company, other_company, cart = "acme", "globex", "cart-ann"
    directory_keys: list[str] = []
    approval_ids: list[str] = []
    customers: dict[str, Customer] = {}
    try:
        customers["requester"] = pool.create("ann", ["B2B_REQUESTER"], "Ann", "Lee")
        customers["admin"] = pool.create("carol", ["B2B_ADMIN"], "Carol", "Diaz")
        customers["outsider"] = pool.create("bob", ["B2B_BUYER"], "Bob", "Marsh")
        customers["no-tenant"] = tenantless.create("nobody", ["B2B_ADMIN"])
        seed = {
            "tenants": {
                tenant: {
                    "companies": [
                        {"id": company, "name": "ACME", "approvalLimit": {"amount": 1000, "currency": "EUR"}},
                        {"id": other_company, "name": "Globex"},
                    ],
                    "customers": [
                        customers["requester"].directory_entry([company]),
                        customers["admin"].directory_entry([company]),
                        customers["outsider"].directory_entry([other_company]),
                    ],
                    "carts": [
                        {
                            "id": cart,
                            "customerId": customers["requester"].user_id,
                            "companyId": company,
                            "siteCode": "main",
                            "currency": "EUR",
                            "items": [{"quantity": 2, "itemPrice": {"currency": "EUR", "amount": 125.05}}],
                            "totalPrice": {"currency": "EUR", "amount": 250.10},
                        }
                    ],
                }
            }
        }
        directory_keys = directory_partitions(
            tenant, [customer.user_id for customer in customers.values()], [company, other_company], [cart]
        )
        load_directory(stack, seed)
        tokens = {role: (pool if role != "no-tenant" else tenantless).sign_in(c) for role, c in customers.items()}
        yield World(tenant, customers, tokens, company, other_company, cart, approval_ids)
    finally:
        tenantless.delete_all()
        pool.delete_all()
        purge_partitions(dynamodb, stack.tables["DirectoryTable"], directory_keys)
        users = [customer.user_id for customer in customers.values()]
        purge_partitions(
            dynamodb, stack.tables["ApprovalsTable"], approval_partitions(tenant, approval_ids, users, [cart])
        )


def load_directory(stack: Stack, seed: dict[str, Any]) -> None:
    """As docs/deploy.md does it: `approvals-local seed FILE --table <DirectoryTableName>`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "directory.json"
        path.write_text(json.dumps(seed))
        result = run_cli(
            Path(folder),
            *("seed", str(path), "--table", stack.tables["DirectoryTable"]),
            env={"AWS_DEFAULT_REGION": stack.region, "AWS_REGION": stack.region},
        )
    if result.returncode != 0:
        pytest.fail(f"loading the test directory failed:\n{result.stderr}", pytrace=False)

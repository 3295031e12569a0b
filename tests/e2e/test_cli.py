"""The approvals-local commands besides serve's HTTP: what they print, what they refuse."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from approval_core.adapters.dynamodb import make_client
from tests.e2e.support import ROOT, Api, Mint, Serve, create_body, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ALL_SCOPES = {
    "approval.approval_read_own",
    "approval.approval_read",
    "approval.approval_manage_own",
    "approval.approval_manage",
}

# Text, not a dict: the amounts must reach the seed exactly as written (99.90, not 99.9).
GLOBEX = """
{"tenants": {"globex": {
  "companies": [{"id": "gx", "name": "Globex", "approvalLimit": {"amount": 500, "currency": "EUR"}}],
  "customers": [
    {"id": "gina", "firstName": "Gina", "lastName": "Ito", "groups": ["B2B_REQUESTER"], "companies": ["gx"]},
    {"id": "gus", "firstName": "Gus", "lastName": "Oak", "groups": ["B2B_ADMIN"], "companies": ["gx"]}
  ],
  "carts": [{"id": "cart-gina-1", "customerId": "gina", "companyId": "gx", "siteCode": "main", "currency": "EUR",
             "items": [{"quantity": 3, "itemPrice": {"currency": "EUR", "amount": 33.30}}],
             "totalPrice": {"currency": "EUR", "amount": 99.90}}]
}}}
"""


def write_json(path: Path, document: Any) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def payload(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


# --------------------------------------------------------------------------- serve's console
def test_serve_prints_one_listening_line_then_a_token_hint(serve: Serve) -> None:
    first, second = serve.wait_for_stdout(2)
    assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+", first)
    assert first == f"listening on {serve.base_url}"
    assert not serve.base_url.endswith(":0")
    # The command as it works from the project folder, where serve was started: the console script
    # is in the virtualenv, not on PATH.
    assert second == "get a token: .venv/bin/approvals-local token --tenant acme --user ann"
    assert sum(line.startswith("listening on") for line in serve.stdout_lines) == 1


def test_serve_logs_one_line_per_request(serve: Serve, api: Api) -> None:
    api.call("GET", "/.well-known/jwks.json")
    pattern = re.compile(r"^GET /\.well-known/jwks\.json 200 \d+(\.\d+)?ms", re.MULTILINE)
    deadline = time.monotonic() + 5
    while not pattern.search(serve.stderr()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pattern.search(serve.stderr()), serve.stderr()


# --------------------------------------------------------------------------- token
def test_token_prints_only_the_token(serve: Serve) -> None:
    minted = run_cli(serve.state_dir, "token", "--tenant", "acme", "--user", "ann")
    assert minted.returncode == 0, minted.stderr
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+\n", minted.stdout)
    claims = payload(minted.stdout.strip())
    assert claims["sub"] == "ann"
    assert claims["tenant"] == "acme"
    assert set(claims["scope"].split()) == ALL_SCOPES
    assert claims["token_use"] == "access"
    assert claims["exp"] - claims["iat"] == 3600
    assert "cognito:groups" not in claims


def test_token_scopes_and_groups(serve: Serve) -> None:
    minted = run_cli(
        serve.state_dir,
        *("token", "--tenant", "acme", "--user", "bob"),
        *("--scope", "approval.approval_read", "--scope", "approval.approval_manage"),
        *("--group", "B2B_BUYER", "--group", "B2B_ADMIN", "--ttl", "60"),
    )
    assert minted.returncode == 0, minted.stderr
    claims = payload(minted.stdout.strip())
    assert claims["scope"] == "approval.approval_read approval.approval_manage"
    assert claims["cognito:groups"] == ["B2B_BUYER", "B2B_ADMIN"]
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(
    "args",
    [
        ("token", "--tenant", "acme"),
        ("token", "--tenant", "acme", "--user", "ann", "--ttl", "soon"),
        ("serve", "--port", "70000"),
        ("serve", "--schedule-interval", "0"),
        ("serve", "--webhook-secret", "acme"),
        ("serve", "--webhook-secret", "Not_A_Tenant=secret"),
        ("frobnicate",),
        ("invoke", "NoSuchFunction"),
        ("invoke", "GetApprovalFunction", "--event", "/nonexistent/event.json"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_2(state_dir: Path, args: tuple[str, ...]) -> None:
    result = run_cli(state_dir, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- seed
def directory_items(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = make_client(endpoint, region_name="us-east-1")
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName="DirectoryTable"))


def test_bad_seed_is_refused_naming_the_field_and_nothing_is_loaded(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = json.loads(GLOBEX.replace("globex", "initech"))
    bad["tenants"]["hooli"] = {"customers": [{"id": "hank", "groups": "B2B_ADMIN", "companies": []}]}
    before = directory_items(serve.dynamodb_endpoint, monkeypatch)

    result = run_cli(serve.state_dir, "seed", str(write_json(tmp_path / "bad.json", bad)))

    assert result.returncode == 2, result.stdout + result.stderr
    assert "tenants.hooli.customers.0.groups" in result.stderr
    assert "Traceback" not in result.stderr
    assert directory_items(serve.dynamodb_endpoint, monkeypatch) == before


def test_bad_tenant_name_in_a_seed_is_refused(serve: Serve, tmp_path: Path) -> None:
    bad = GLOBEX.replace('"globex"', '"Globex-Corp"')
    result = run_cli(serve.state_dir, "seed", str(write_json(tmp_path / "bad.json", bad)))
    assert result.returncode == 2
    assert "tenants.Globex-Corp" in result.stderr


def test_seed_loads_a_new_tenant_into_the_running_store(serve: Serve, api: Api, token: Mint, tmp_path: Path) -> None:
    result = run_cli(serve.state_dir, "seed", str(write_json(tmp_path / "globex.json", GLOBEX)))
    assert result.returncode == 0, result.stderr

    created = api.call(
        "POST", "/approval/globex/approvals", token("gina", tenant="globex"), json=create_body("cart-gina-1", "gus")
    )
    assert created.status_code == 201, created.text
    got = api.call("GET", f"/approval/globex/approvals/{created.json()['id']}", token("gus", tenant="globex"))
    assert got.status_code == 200, got.text
    assert re.search(r'"amount":\s*99\.90[,}]', got.text), got.text
    assert got.json()["requestor"] == {"userId": "gina", "firstName": "Gina", "lastName": "Ito"}


def test_seed_into_an_existing_table_as_for_a_deployed_stack(
    serve: Serve, api: Api, token: Mint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/deploy.md loads the directory of a stack with `seed FILE --table <DirectoryTableName>`:
    the caller's credentials, no table created. Here the table is serve's, behind its endpoint."""
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    seed_file = write_json(tmp_path / "umbrella.json", GLOBEX.replace("globex", "umbrella"))
    result = run_cli(
        serve.state_dir,
        *("seed", str(seed_file), "--table", "DirectoryTable", "--dynamodb-endpoint", serve.dynamodb_endpoint),
        env=credentials,
    )
    assert result.returncode == 0, result.stderr
    assert f"into table DirectoryTable at {serve.dynamodb_endpoint}" in result.stderr
    created = api.call(
        "POST", "/approval/umbrella/approvals", token("gina", tenant="umbrella"), json=create_body("cart-gina-1", "gus")
    )
    assert created.status_code == 201, created.text

    missing = run_cli(
        serve.state_dir,
        *("seed", str(seed_file), "--table", "NoSuchTable", "--dynamodb-endpoint", serve.dynamodb_endpoint),
        env=credentials,
    )
    assert missing.returncode == 1
    assert "cannot load into table NoSuchTable" in missing.stderr
    assert "Traceback" not in missing.stderr
    client = make_client(serve.dynamodb_endpoint, region_name="us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert "NoSuchTable" not in client.list_tables()["TableNames"]


def test_seed_without_a_running_serve_says_so(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "seed", str(write_json(tmp_path / "globex.json", GLOBEX)))
    assert result.returncode == 1
    assert "no approvals-local serve is running" in result.stderr


# --------------------------------------------------------------------------- invoke
def invoke(state_dir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(state_dir, "invoke", *args)
    assert result.returncode == 0, result.stderr
    return result.returncode, json.loads(result.stdout)  # stdout holds the result and nothing else


def test_invoke_create_with_its_sample_event(state_dir: Path) -> None:
    _, result = invoke(state_dir, "CreateApprovalFunction")
    assert result["statusCode"] == 201, result
    assert list(json.loads(result["body"])) == ["id"]


def test_invoke_get_with_its_sample_event(state_dir: Path) -> None:
    _, result = invoke(state_dir, "GetApprovalFunction", "--event", str(ROOT / "events" / "get_approval.json"))
    assert result["statusCode"] == 404, result
    assert json.loads(result["body"])["errorCode"] == "APPROVAL-404001"


def test_invoke_the_token_trigger_with_its_sample_event(state_dir: Path) -> None:
    """What Cognito would get back from the stack's pre-token-generation trigger (V2_0)."""
    _, result = invoke(state_dir, "PreTokenGenerationFunction")
    access_token = result["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
    assert access_token["claimsToAddOrOverride"] == {"tenant": "acme"}
    assert set(access_token["scopesToAdd"]) == {"approval.approval_read_own", "approval.approval_manage_own"}


def test_invoke_against_the_running_store(serve: Serve, api: Api, token: Mint, tmp_path: Path) -> None:
    created = api.call("POST", "/approval/acme/approvals", token("bob"), json=create_body("cart-bob-big", "carol"))
    assert created.status_code == 201, created.text
    approval_id = created.json()["id"]
    event = json.loads((ROOT / "events" / "get_approval.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/approval/acme/approvals/{approval_id}"
    event["pathParameters"]["approvalId"] = approval_id
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "bob"

    _, result = invoke(
        serve.state_dir,
        *("GetApprovalFunction", "--event", str(write_json(tmp_path / "event.json", event))),
        *("--dynamodb-endpoint", serve.dynamodb_endpoint),
    )

    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["id"] == approval_id

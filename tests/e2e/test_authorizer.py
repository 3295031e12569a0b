"""The JWT authorizer and routes of template.yaml, as API Gateway enforces them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from approvals_local.template import load_template
from approvals_local.tokens import AUDIENCE, ISSUER, SigningKey, load_signing_key, mint
from tests.e2e.support import ROOT, Api, Mint, Serve, create_body, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# API Gateway's own 401 (http-api-troubleshooting-jwt); the contract yields to it.
INVALID_TOKEN = {"message": "Unauthorized"}
READ_PATH = "/approval/acme/approvals/0123456789abcdef"


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_TOKEN
    assert response.headers["WWW-Authenticate"].startswith('Bearer scope="" error="invalid_token" error_description=')


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "ann",
        "tenant": "acme",
        "scope": "approval.approval_read approval.approval_manage",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "client_id": AUDIENCE,
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic YW5uOnNlY3JldA==", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Bearer e30.e30.e30"],
)
def test_missing_or_malformed_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_invalid_token(api.call("GET", READ_PATH, headers=headers))


def test_token_signed_by_another_key_is_401(api: Api, tmp_path: Path) -> None:
    stranger = load_signing_key(tmp_path)
    assert_invalid_token(api.call("GET", READ_PATH, mint(stranger, tenant="acme", user="ann")))


def test_token_of_another_key_claiming_our_kid_is_401(api: Api, signing_key: SigningKey, tmp_path: Path) -> None:
    stranger = load_signing_key(tmp_path)
    forged = jwt.encode(claims(), stranger.private_key, algorithm="RS256", headers={"kid": signing_key.kid})
    assert_invalid_token(api.call("GET", READ_PATH, forged))


def test_alg_none_is_401(api: Api, signing_key: SigningKey) -> None:
    token = unsigned({"alg": "none", "typ": "JWT", "kid": signing_key.kid}, claims()) + "."
    assert_invalid_token(api.call("GET", READ_PATH, token))


def test_hs256_signed_with_the_public_key_is_401(api: Api, signing_key: SigningKey) -> None:
    public_pem = signing_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}, claims())
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_invalid_token(api.call("GET", READ_PATH, f"{signing_input}.{b64(signature)}"))


def test_expired_token_from_the_cli_is_401(serve: Serve, api: Api) -> None:
    minted = run_cli(serve.state_dir, "token", "--tenant", "acme", "--user", "ann", "--ttl", "-60")
    assert minted.returncode == 0, minted.stderr
    assert_invalid_token(api.call("GET", READ_PATH, minted.stdout.strip()))


def test_wrong_issuer_is_401(api: Api, token: Mint) -> None:
    assert_invalid_token(api.call("GET", READ_PATH, token("ann", issuer="https://issuer.example")))


def test_wrong_audience_is_401(api: Api, token: Mint) -> None:
    assert_invalid_token(api.call("GET", READ_PATH, token("ann", audience="someone-else")))


def test_token_without_subject_is_401(api: Api, signing_key: SigningKey) -> None:
    # The authorizer lets it through (it does not check sub); the function refuses it alike.
    payload = {key: value for key, value in claims().items() if key != "sub"}
    token = jwt.encode(payload, signing_key.private_key, algorithm="RS256", headers={"kid": signing_key.kid})
    assert_invalid_token(api.call("GET", READ_PATH, token))


def test_cognito_style_token_with_client_id_and_no_aud_is_accepted(api: Api, signing_key: SigningKey) -> None:
    payload = {key: value for key, value in claims().items() if key != "aud"}
    token = jwt.encode(payload, signing_key.private_key, algorithm="RS256", headers={"kid": signing_key.kid})
    response = api.call("GET", READ_PATH, token)
    assert response.status_code == 404, response.text
    assert response.json()["errorCode"] == "APPROVAL-404001"


def test_token_of_another_tenant_is_403(api: Api, token: Mint) -> None:
    response = api.call("GET", READ_PATH.replace("acme", "globex"), token("ann", tenant="acme"))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == 403


def test_token_without_the_route_scope_is_403(api: Api, token: Mint) -> None:
    reader = token("ann", scopes=["approval.approval_read_own"])
    response = api.call("POST", "/approval/acme/approvals", reader, json=create_body("cart-ann-2", "carol"))
    assert response.status_code == 403, response.text
    assert response.json() == {"message": "Forbidden"}  # API Gateway's own (http-api-jwt-authorizer)

    manager = token("ann", scopes=["approval.approval_manage_own", "approval.approval_manage"])
    assert api.call("GET", READ_PATH, manager).status_code == 403


def test_either_scope_of_a_pair_suffices(api: Api, token: Mint) -> None:
    for scope in ("approval.approval_read_own", "approval.approval_read"):
        response = api.call("GET", READ_PATH, token("ann", scopes=[scope]))
        assert response.status_code == 404, response.text
        assert response.json()["errorCode"] == "APPROVAL-404001"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/approval/acme"),
        ("PUT", "/approval/acme/approvals"),
        ("GET", "/approval/acme/approvals/one/two"),
        ("POST", "/.well-known/jwks.json"),
    ],
)
def test_unknown_route_is_404_before_any_token_check(api: Api, method: str, path: str) -> None:
    response = api.call(method, path)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_every_route_of_the_template_is_served(api: Api) -> None:
    """No second route list: whatever template.yaml declares answers (401 without a token)."""
    for route in load_template(ROOT / "template.yaml").routes:
        path = route.path.replace("{tenant}", "acme").replace("{approvalId}", "0123456789abcdef")
        response = api.call(route.method, path)
        assert response.status_code == 401, f"{route.route_key}: {response.status_code}"


def test_jwks_and_discovery_documents(api: Api, base_url: str, signing_key: SigningKey, token: Mint) -> None:
    jwks = api.call("GET", "/.well-known/jwks.json")
    assert jwks.status_code == 200
    (key,) = jwks.json()["keys"]
    assert key["kid"] == signing_key.kid
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert "d" not in key  # public half only
    verified = jwt.decode(token("ann"), jwt.PyJWK(key).key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    assert verified["sub"] == "ann"

    discovery = api.call("GET", "/.well-known/openid-configuration")
    assert discovery.status_code == 200
    document = discovery.json()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{base_url}/.well-known/jwks.json"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


def test_cors_as_the_template_configures_it(api: Api, token: Mint) -> None:
    cors = next((route.cors for route in load_template(ROOT / "template.yaml").routes if route.cors), None)
    if cors is None:
        pytest.skip("template.yaml configures no CORS")
    origin = "https://shop.example.com"
    preflight = api.call(
        "OPTIONS",
        "/approval/acme/approvals",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204
    if "*" in cors.allow_origins:
        assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
        read = api.call("GET", READ_PATH, token("ann"), headers={"Origin": origin})
        assert read.headers["Access-Control-Allow-Origin"] in ("*", origin)


@pytest.mark.parametrize(
    ("header", "method", "path"),
    [
        ("Emporix-Tenant", "GET", "/approval/acme/approvals"),  # the SDK, on every request
        ("saas-token", "POST", "/approval/acme/approvals"),  # the storefront's create
        ("X-Version", "GET", "/approval/acme/approvals/0123456789abcdef"),  # the storefront's list and get
        ("Authorization", "PATCH", "/approval/acme/approvals/0123456789abcdef"),
        ("Content-Type", "POST", "/approval/acme/approval/permitted"),
        ("If-Match", "PATCH", "/approval/acme/approvals/0123456789abcdef"),
        ("Idempotency-Key", "POST", "/approval/acme/approvals"),
        ("X-Total-Count", "GET", "/approval/acme/approvals"),
    ],
)
def test_a_browser_preflight_allows_each_header_the_service_and_real_clients_use(
    api: Api, header: str, method: str, path: str
) -> None:
    origin = "https://shop.example.com"
    preflight = api.call(
        "OPTIONS",
        path,
        # As a browser asks: the header names in lower case.
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": header.lower(),
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
    assert method in preflight.headers["Access-Control-Allow-Methods"].split(",")
    # A browser compares the names case-insensitively, and never lets "*" stand for Authorization.
    allowed = {name.strip().lower() for name in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert header.lower() in allowed

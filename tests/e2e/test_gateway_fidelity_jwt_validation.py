"""Row 7 of local mode's fidelity: what API Gateway's JWT authorizer checks, and no more.

Source: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html, "Authorizing
API requests with a JWT authorizer": the identity source holds the token alone or after ``Bearer``;
only RSA-based algorithms; the claims checked are kid, iss, aud (client_id without aud), exp, nbf,
iat ("must be before the current time") and scope or scp. The subject is not among them.
(The issue asked for iat not to be checked; the documentation says it is, and local mode follows
the documentation.)
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from approvals_local.tokens import AUDIENCE, DEFAULT_SCOPES, ISSUER, SigningKey
from tests.e2e.support import Api

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

READ_PATH = "/approval/acme/approvals/0123456789abcdef"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "ann",
        "tenant": "acme",
        "scope": " ".join(DEFAULT_SCOPES),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


def signed(key: SigningKey, payload: dict[str, Any], algorithm: str = "RS256") -> str:
    return jwt.encode(payload, key.private_key, algorithm=algorithm, headers={"kid": key.kid})


def read(api: Api, authorization: str) -> Any:
    return api.call("GET", READ_PATH, headers={"Authorization": authorization})


def assert_passed_the_authorizer(response: Any) -> None:
    # The function answered: the approval does not exist.
    assert response.status_code == 404, response.text
    assert response.json()["errorCode"] == "APPROVAL-404001"


def test_the_token_needs_no_bearer_prefix(api: Api, signing_key: SigningKey) -> None:
    assert_passed_the_authorizer(read(api, signed(signing_key, claims())))


def test_scopes_may_come_from_scp(api: Api, signing_key: SigningKey) -> None:
    payload = {name: value for name, value in claims().items() if name != "scope"}
    as_list = signed(signing_key, {**payload, "scp": ["approval.approval_read"]})
    assert_passed_the_authorizer(read(api, f"Bearer {as_list}"))
    as_text = signed(signing_key, {**payload, "scp": "approval.approval_read other"})
    assert_passed_the_authorizer(read(api, f"Bearer {as_text}"))


@pytest.mark.parametrize("algorithm", ["RS384", "RS512", "PS256"])
def test_every_rsa_algorithm_is_accepted(api: Api, signing_key: SigningKey, algorithm: str) -> None:
    assert_passed_the_authorizer(read(api, f"Bearer {signed(signing_key, claims(), algorithm)}"))


def test_other_algorithms_are_refused(api: Api) -> None:
    secret = "a-shared-secret-of-at-least-32-bytes"
    hmac_signed = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "any"})
    response = read(api, f"Bearer {hmac_signed}")
    assert response.status_code == 401
    assert "HS256 is not supported" in response.headers["www-authenticate"]


def test_the_authorizer_does_not_require_a_subject(api: Api, signing_key: SigningKey) -> None:
    payload = {name: value for name, value in claims().items() if name != "sub"}
    response = read(api, f"Bearer {signed(signing_key, payload)}")
    # The function refuses it (the service needs the customer), not the authorizer.
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert 'error_description="the token has no subject"' in response.headers["www-authenticate"]


def test_a_token_issued_in_the_future_is_refused_as_documented(api: Api, signing_key: SigningKey) -> None:
    now = int(time.time())
    response = read(api, f"Bearer {signed(signing_key, claims(iat=now + 3600, exp=now + 7200))}")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_a_token_without_iat_is_accepted(api: Api, signing_key: SigningKey) -> None:
    payload = {name: value for name, value in claims().items() if name != "iat"}
    assert_passed_the_authorizer(read(api, f"Bearer {signed(signing_key, payload)}"))


def test_the_challenge_never_carries_the_clients_quotes(api: Api) -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": 'x" error="forged', "kid": "k"}).encode()).decode()
    response = read(api, f"Bearer {header.rstrip('=')}.e30.c2ln")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.count('"') == 6, challenge
    assert "xerror" in challenge

"""Row 1 of local mode's fidelity: the JWT authorizer answers for itself, with bodies an HTTP API
cannot change: 401 {"message":"Unauthorized"} with a ``www-authenticate`` challenge naming what is
wrong, and 403 {"message":"Forbidden"} for a valid token without the route's scope. The service's
own 403 (a token for another tenant) keeps the Emporix error body.

Sources: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html
(the 401 body and ``www-authenticate: Bearer scope="" error="invalid_token"
error_description="the token does not have a valid audience"``) and http-api-jwt-authorizer.html
(a token must carry one of the route's scopes).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.support import Api, Mint, create_body

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

READ_PATH = "/approval/acme/approvals/0123456789abcdef"


def challenge(description: str) -> str:
    return f'Bearer scope="" error="invalid_token" error_description="{description}"'


def assert_unauthorized(response: Any, description: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"message": "Unauthorized"}
    assert response.headers["www-authenticate"] == challenge(description)


def test_a_token_for_another_audience_is_refused_as_the_documentation_shows(api: Api, token: Mint) -> None:
    assert_unauthorized(
        api.call("GET", READ_PATH, token("ann", audience="someone-else")), "the token does not have a valid audience"
    )


def test_an_expired_token_is_refused_saying_so(api: Api, token: Mint) -> None:
    assert_unauthorized(api.call("GET", READ_PATH, token("ann", ttl=-60)), "the token has expired")


def test_a_missing_token_is_refused_with_the_same_body(api: Api) -> None:
    assert_unauthorized(api.call("GET", READ_PATH), "the token is missing")


def test_a_malformed_token_is_refused_with_the_same_body(api: Api) -> None:
    assert_unauthorized(api.call("GET", READ_PATH, "not-a-jwt"), "the token is malformed")


def test_a_missing_scope_is_403_forbidden_from_the_gateway(api: Api, token: Mint) -> None:
    reader = token("ann", scopes=["approval.approval_read_own"])
    response = api.call("POST", "/approval/acme/approvals", reader, json=create_body("cart-ann-2", "carol"))
    assert response.status_code == 403, response.text
    assert response.json() == {"message": "Forbidden"}


def test_a_token_of_another_tenant_keeps_the_services_own_403(api: Api, token: Mint) -> None:
    response = api.call("GET", READ_PATH.replace("acme", "globex"), token("ann", tenant="acme"))
    assert response.status_code == 403, response.text
    body = response.json()
    assert (body["code"], body["status"]) == (403, "Forbidden")
    assert "globex" in body["message"]

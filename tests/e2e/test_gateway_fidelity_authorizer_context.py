"""Row 8 of local mode's fidelity: what the JWT authorizer hands the function in
``requestContext.authorizer.jwt``: every claim as text (arrays as ``[a b]``), and ``scopes``, the
token's scopes on a route with authorization scopes, null on a route without; a route without the
authorizer has no ``authorizer`` at all.

Sources: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
(the 2.0 event's ``authorizer.jwt.claims`` and ``scopes``) and the events API Gateway sends as
reported publicly: ``"scopes": null`` on routes without scopes
(github.com/aws-powertools/powertools-lambda-python/issues/2953,
github.com/DefinitelyTyped/DefinitelyTyped/pull/75458), claims such as ``"exp": "1787996002"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.fidelity_support import Served, project

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def jwt_context(served: Served, path: str, token: str) -> Any:
    response = requests.post(f"{served.url}{path}", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["requestContext"].get("authorizer")


def test_a_route_without_scopes_gets_null_scopes(tmp_path: Path) -> None:
    with project(tmp_path) as served:
        context = jwt_context(served, "/unscoped", served.token(scopes=("read",)))
    assert context["jwt"]["scopes"] is None
    assert context["jwt"]["claims"]["sub"] == "ann"


def test_a_route_with_scopes_gets_the_tokens_scopes(tmp_path: Path) -> None:
    with project(tmp_path) as served:
        context = jwt_context(served, "/scoped", served.token(scopes=("write", "other")))
    assert context["jwt"]["scopes"] == ["write", "other"]


def test_claims_are_text_and_arrays_are_bracketed(tmp_path: Path) -> None:
    with project(tmp_path) as served:
        token = served.token(groups=["B2B_ADMIN", "B2B_BUYER"])
        claims = jwt_context(served, "/scoped", token)["jwt"]["claims"]
    assert all(isinstance(value, str) for value in claims.values()), claims
    assert claims["cognito:groups"] == "[B2B_ADMIN B2B_BUYER]"
    assert claims["exp"].isdigit()
    assert claims["scope"] == "write"


def test_a_route_without_the_authorizer_has_no_authorizer_context(tmp_path: Path) -> None:
    with project(tmp_path) as served:
        response = requests.post(f"{served.url}/open", json={}, timeout=30)
    assert response.status_code == 200, response.text
    assert "authorizer" not in response.json()["requestContext"]

"""Row 9 of local mode's fidelity: API Gateway answers CORS preflights itself, from the API's
CorsConfiguration, for any path (with or without a route, before any authorizer), and matches
origins as documented: an origin, ``*``, or ``https://*`` / ``http://*`` for any origin of that
scheme.

Source: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html ("API Gateway
automatically sends a response to preflight OPTIONS requests, even if there isn't an OPTIONS route
configured"; the allowOrigins examples; "API Gateway ignores CORS headers returned from your
backend integration").
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from approvals_local.gateway import origin_allowed
from tests.e2e.fidelity_support import project
from tests.e2e.support import Api

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def preflight(url: str, origin: str) -> requests.Response:
    return requests.options(
        url,
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"},
        timeout=30,
    )


def test_a_preflight_for_a_path_without_a_route_is_answered(tmp_path: Path) -> None:
    with project(tmp_path) as served:
        response = preflight(f"{served.url}/no/such/route", "https://shop.example.com")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_the_services_api_answers_a_preflight_for_any_path(api: Api) -> None:
    response = api.call(
        "OPTIONS",
        "/approval/acme/anything/at/all",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://shop.example.com")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),  # https://*
        ("https://localhost:8443", True),
        ("http://shop.example.com", True),  # listed as it is
        ("http://other.example.com", False),  # http://* is not configured
        ("null", False),
    ],
)
def test_origins_match_the_documented_patterns(tmp_path: Path, origin: str, allowed: bool) -> None:
    with project(tmp_path) as served:
        response = preflight(f"{served.url}/scoped", origin)
    assert response.status_code == 204
    assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_a_wildcard_aws_does_not_document_is_taken_literally() -> None:
    assert origin_allowed("https://a.example.com", "https://*")
    assert not origin_allowed("https://a.example.com", "https://*.example.com")
    assert origin_allowed("https://*.example.com", "https://*.example.com")
    assert not origin_allowed("https://", "https://*")

"""Row 5 of local mode's fidelity: the quotas of an HTTP API and of a synchronous Lambda
invocation, and that the first two are enforced before the authorizer runs.

Sources: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html ("Total
combined size of request line and header values: 10240 bytes", "Payload size: 10 MB") and
docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (6 MB invocation payload,
synchronous). AWS documents the limits, not the answers: local mode answers 431 and 413 and says
so at start-up and in the README.
"""

from __future__ import annotations

import pytest

from approvals_local.gateway import MAX_LAMBDA_EVENT_BYTES, MAX_PAYLOAD_BYTES, MAX_REQUEST_LINE_AND_HEADERS_BYTES
from tests.e2e.support import Api, Mint, Serve

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

APPROVALS = "/approval/acme/approvals"


def test_the_limits_are_the_documented_ones() -> None:
    assert MAX_REQUEST_LINE_AND_HEADERS_BYTES == 10240
    assert MAX_PAYLOAD_BYTES == 10 * 1024 * 1024
    assert MAX_LAMBDA_EVENT_BYTES == 6 * 1024 * 1024


def test_request_line_and_headers_over_10240_bytes_are_refused_before_the_authorizer(api: Api) -> None:
    # No token at all: the authorizer would answer 401, but the quota comes first.
    response = api.call("GET", APPROVALS, headers={"X-Padding": "x" * 10300})
    assert response.status_code == 431
    assert response.json() == {"message": "Request Header Fields Too Large"}


def test_request_line_and_headers_just_within_the_limit_reach_the_authorizer(api: Api) -> None:
    response = api.call("GET", APPROVALS, headers={"X-Padding": "x" * 9000})
    assert response.status_code == 401


def test_a_payload_over_10_mb_is_refused_before_the_authorizer(api: Api) -> None:
    body = b"x" * (MAX_PAYLOAD_BYTES + 1)
    response = api.call("POST", APPROVALS, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_an_event_over_6_mb_never_reaches_the_function(api: Api, token: Mint) -> None:
    # 7 MB of JSON text: within the gateway's 10 MB, beyond what Lambda accepts synchronously.
    body = b'{"comment": "' + b"x" * (7 * 1024 * 1024) + b'"}'
    response = api.call("POST", APPROVALS, token("ann"), data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}
    # Unauthenticated, the same request is the authorizer's: the event limit comes after it.
    assert api.call("POST", APPROVALS, data=body, headers={"Content-Type": "application/json"}).status_code == 401


def test_serve_says_which_answers_are_its_own_choice(serve: Serve) -> None:
    assert "431" in serve.stderr()
    assert "AWS documents the quota, not the answer" in serve.stderr()

"""Row 6 of local mode's fidelity: payload format 2.0 passes a request body as text only when its
Content-Type is text, JSON, XML or JavaScript; anything else, a missing Content-Type and form
encoding included, arrives base64-encoded with ``isBase64Encoded: true``. The service parses such
bodies through Powertools' ``decoded_body``, so a JSON body sent without Content-Type works as in
AWS.

Sources: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
(the 2.0 event and its ``isBase64Encoded``) and the AWS Compute Blog, "Handling binary data using
Amazon API Gateway HTTP APIs": "The HTTP API Lambda integration automatically infers the need for
encoding based on the content-type header passed with the request".
"""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.fidelity_support import project
from tests.e2e.support import Api, Mint

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

BODY = b'{"a": 1}'


def posted(url: str, content_type: str | None, body: bytes = BODY) -> dict[str, Any]:
    """The event the echo function received; http.client, so no Content-Type is added unasked."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    connection.putrequest("POST", "/open", skip_accept_encoding=True)
    if content_type is not None:
        connection.putheader("Content-Type", content_type)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    return dict(json.loads(response.read()))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "text/csv",
        "application/xml",
        "application/javascript",
        "application/vnd.api+json",
    ],
)
def test_text_json_xml_and_javascript_arrive_as_text(tmp_path: Path, content_type: str) -> None:
    with project(tmp_path) as served:
        event = posted(served.url, content_type)
    assert (event["body"], event["isBase64Encoded"]) == (BODY.decode(), False)


@pytest.mark.parametrize(
    "content_type", [None, "application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data"]
)
def test_anything_else_arrives_base64_encoded(tmp_path: Path, content_type: str | None) -> None:
    with project(tmp_path) as served:
        event = posted(served.url, content_type)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == BODY


def test_the_service_reads_a_json_body_sent_without_content_type(api: Api, token: Mint) -> None:
    # The permitted check: a body the function must read, and nothing written.
    body = json.dumps({"resourceType": "CART", "resourceId": "cart-ann-1", "action": "CHECKOUT"}).encode()
    parts = urlsplit(api.base_url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    connection.putrequest("POST", "/approval/acme/approval/permitted", skip_accept_encoding=True)
    connection.putheader("Authorization", f"Bearer {token('ann')}")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    text = response.read()
    assert response.status == 200, text
    assert json.loads(text)["action"] == "CHECKOUT"

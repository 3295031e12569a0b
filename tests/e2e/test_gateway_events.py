"""The gateway and scheduler against a small template of their own, served over real HTTP in this
process: the exact events the functions receive, and what API Gateway makes of their results."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from approvals_local.functions import FunctionRuntime
from approvals_local.gateway import Gateway
from approvals_local.scheduler import Scheduler, rate_seconds
from approvals_local.template import Template, TemplateError, load_template
from approvals_local.tokens import SigningKey, load_signing_key, mint

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
  Origin: {Type: String, Default: "https://shop.example.com"}
  Headers: {Type: String, Default: "Authorization,Content-Type"}
Conditions:
  Polite: !Equals [!Ref Greeting, hello]
Globals:
  Function:
    Timeout: 5
    Environment:
      Variables:
        GREETING: !Ref Greeting
        THINGS_TABLE: !Ref ThingsTable
        THINGS_ARN: !GetAtt ThingsTable.Arn
        WHERE: !Sub "${AWS::Region}/${ThingsTable}"
        MOOD: !If [Polite, calm, grumpy]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [!Ref Origin]
        AllowMethods: [GET, POST]
        AllowHeaders: !Split [",", !Ref Headers]
        ExposeHeaders: [X-Total-Count]
        MaxAge: 600
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: x, audience: [y]}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: echo.handler
      Events:
        Read:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: GET
            Path: /things/{thingId}
            Auth: {AuthorizationScopes: [read, admin]}
        Write:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: POST
            Path: /things/{thingId}
            Auth: {AuthorizationScopes: [write]}
        Open:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: ANY
            Path: /open/{proxy+}
            Auth: {Authorizer: NONE}
        Latest:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: GET
            Path: /things/latest
            Auth: {AuthorizationScopes: [read]}
  BoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: boom.handler
      Events:
        Boom:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /boom}
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: tick.handler
      Events:
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 hour)}
  ThingsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
"""

ECHO = """\
import json, os

def handler(event, context):
    names = ("GREETING", "THINGS_TABLE", "THINGS_ARN", "WHERE", "MOOD", "DYNAMODB_ENDPOINT")
    body = {
        "event": event,
        "env": {name: os.environ.get(name) for name in names},
        "context": {"name": context.function_name, "remaining": context.get_remaining_time_in_millis()},
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "https://evil.example"},
        "multiValueHeaders": {"X-Multi": ["1", "2"]},
        "cookies": ["session=abc; Path=/"],
        "body": json.dumps(body),
    }
"""

BOOM = """\
def handler(event, context):
    raise RuntimeError("secret internals")
"""

TICK = """\
import json, os

def handler(event, context):
    with open(os.environ["TICK_FILE"], "a") as ticks:
        ticks.write(json.dumps(event) + "\\n")
    return {"ticked": True}
"""


@pytest.fixture
def project(tmp_path: Path) -> Template:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    functions = tmp_path / "fn"
    functions.mkdir()
    for name, code in (("echo", ECHO), ("boom", BOOM), ("tick", TICK)):
        (functions / f"{name}.py").write_text(textwrap.dedent(code))
    return load_template(tmp_path / "template.yaml")


@pytest.fixture
def environment() -> Iterator[None]:
    """The runtime sets the functions' environment in os.environ: give it back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return load_signing_key(tmp_path)


@pytest.fixture
def served(project: Template, key: SigningKey, environment: None) -> Iterator[str]:
    os.environ["GREETING"] = "bonjour"  # the caller's environment wins over the template's
    os.environ["THINGS_TABLE"] = "elsewhere"  # ... except for what points at local resources
    runtime = FunctionRuntime(project, "http://127.0.0.1:1")
    server = make_server("127.0.0.1", 0, Gateway(project.routes, runtime, key), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def echo(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_event_is_payload_format_2_0(served: str, key: SigningKey) -> None:
    token = mint(key, tenant="acme", user="ann", scopes=["read", "other"], groups=["B2B_ADMIN", "B2B_BUYER"])
    connection = http.client.HTTPConnection(served.removeprefix("http://"))
    connection.putrequest("GET", "/things/t%201?x=1&x=2&y=&z=%2F")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("X-Dup", "1")
    connection.putheader("X-Dup", "2")
    connection.putheader("Cookie", "a=1; b=2")
    connection.putheader("User-Agent", "tests/1.0")
    connection.endheaders()
    response = connection.getresponse()
    headers = response.getheaders()
    assert response.status == 200
    body = json.loads(response.read())
    event = body["event"]

    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /things/{thingId}"
    assert event["rawPath"] == "/things/t 1"  # decoded, as API Gateway hands it over
    assert event["rawQueryString"] == "x=1&x=2&y=&z=%2F"
    assert event["queryStringParameters"] == {"x": "1,2", "y": "", "z": "/"}
    assert event["pathParameters"] == {"thingId": "t 1"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-dup"] == "1,2"
    assert event["headers"]["user-agent"] == "tests/1.0"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] is None
    assert event["isBase64Encoded"] is False

    context = event["requestContext"]
    assert context["routeKey"] == "GET /things/{thingId}"
    assert context["stage"] == "$default"
    assert context["http"] == {
        "method": "GET",
        "path": "/things/t 1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests/1.0",
    }
    assert isinstance(context["timeEpoch"], int)
    assert context["requestId"]
    claims = context["authorizer"]["jwt"]["claims"]
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["sub"] == "ann"
    assert claims["cognito:groups"] == "[B2B_ADMIN B2B_BUYER]"
    assert claims["scope"] == "read other"
    assert claims["exp"].isdigit()
    assert context["authorizer"]["jwt"]["scopes"] == ["read", "other"]  # the token's scopes, as API Gateway passes them

    assert body["env"] == {
        "GREETING": "bonjour",
        "THINGS_TABLE": "ThingsTable",
        "THINGS_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/ThingsTable",
        "WHERE": "us-east-1/ThingsTable",
        "MOOD": "calm",  # the condition sees the template's default, not the caller's GREETING
        "DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
    }
    assert body["context"]["name"] == "EchoFunction"
    assert 0 < body["context"]["remaining"] <= 5000
    assert ("X-Multi", "1") in headers
    assert ("X-Multi", "2") in headers
    assert ("Set-Cookie", "session=abc; Path=/") in headers


def test_the_route_is_matched_on_the_path_as_sent_and_the_function_gets_it_decoded(
    served: str, key: SigningKey
) -> None:
    token = mint(key, tenant="acme", user="ann", scopes=["read"])
    connection = http.client.HTTPConnection(served.removeprefix("http://"))
    connection.request("GET", "/things/ann%3Aorder%2F1%20%C3%BC", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    assert response.status == 200
    event = json.loads(response.read())["event"]
    # One segment when routed, although the decoded path has a "/" more.
    assert event["routeKey"] == "GET /things/{thingId}"
    assert event["pathParameters"] == {"thingId": "ann:order/1 ü"}
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/things/ann:order/1 ü"


def test_literal_segments_win_over_parameters(served: str, key: SigningKey) -> None:
    response = requests.get(
        f"{served}/things/latest",
        headers={"Authorization": f"Bearer {mint(key, tenant='a', user='u', scopes=['read'])}"},
    )
    assert echo(response)["event"]["routeKey"] == "GET /things/latest"


def test_a_body_that_is_not_text_arrives_base64_encoded(served: str, key: SigningKey) -> None:
    token = mint(key, tenant="acme", user="ann", scopes=["write"])
    response = requests.post(f"{served}/things/x", data=b"\xff\x00\xfe", headers={"Authorization": f"Bearer {token}"})
    event = echo(response)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00\xfe"

    text = requests.post(f"{served}/things/x", json={"a": 1.10}, headers={"Authorization": f"Bearer {token}"})
    assert echo(text)["event"]["body"] == '{"a": 1.1}'


def test_the_route_scopes_are_enforced(served: str, key: SigningKey) -> None:
    writer = mint(key, tenant="acme", user="ann", scopes=["write"])
    response = requests.get(f"{served}/things/x", headers={"Authorization": f"Bearer {writer}"})
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    admin = mint(key, tenant="acme", user="ann", scopes=["admin"])
    assert requests.get(f"{served}/things/x", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_a_route_without_authorizer_needs_no_token(served: str) -> None:
    event = echo(requests.delete(f"{served}/open/a/b%2Fc"))["event"]
    assert event["routeKey"] == "ANY /open/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c"}
    assert "authorizer" not in event["requestContext"]


def test_a_failing_function_is_a_bare_500(served: str, key: SigningKey, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="approvals_local"):
        response = requests.get(
            f"{served}/boom", headers={"Authorization": f"Bearer {mint(key, tenant='a', user='u')}"}
        )
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert "secret internals" in caplog.text  # the traceback goes to the log


def test_cors_preflight_and_response_headers(served: str, key: SigningKey) -> None:
    origin = "https://shop.example.com"
    preflight = requests.options(
        f"{served}/things/x",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type"
    assert preflight.headers["Access-Control-Max-Age"] == "600"

    token = mint(key, tenant="acme", user="ann", scopes=["read"])
    response = requests.get(f"{served}/things/x", headers={"Authorization": f"Bearer {token}", "Origin": origin})
    # The function's own CORS header is replaced by the API's configuration.
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Expose-Headers"] == "X-Total-Count"

    stranger = requests.get(
        f"{served}/things/x", headers={"Authorization": f"Bearer {token}", "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_schedules_run_with_a_scheduled_event(project: Template, environment: None, tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.jsonl"
    os.environ["TICK_FILE"] = str(ticks)
    scheduler = Scheduler(project.functions["TickFunction"].schedules, FunctionRuntime(project, "http://x"), 0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not ticks.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.stop()
    event = json.loads(ticks.read_text().splitlines()[0])
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_has_no_local_rate() -> None:
    assert rate_seconds("cron(0 12 * * ? *)") is None


def test_tables_come_from_the_template(project: Template) -> None:
    assert project.tables == {
        "ThingsTable": {
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
    }


def test_a_template_local_mode_cannot_resolve_is_refused(tmp_path: Path) -> None:
    broken = TEMPLATE.replace("!Ref Greeting\n        THINGS_TABLE", "!Ref Nothing\n        THINGS_TABLE")
    (tmp_path / "template.yaml").write_text(broken)
    with pytest.raises(TemplateError, match="Nothing"):
        load_template(tmp_path / "template.yaml")

"""A small template of its own behind the local gateway, served over real HTTP in this process, for
the tests that pin one behaviour of API Gateway each (test_gateway_fidelity_*.py): their functions
echo the event, sleep or fail on demand, which the service's own functions never do."""

from __future__ import annotations

import contextlib
import os
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from approvals_local.functions import Containers, FunctionRuntime, Invoker
from approvals_local.gateway import Gateway, GatewaySettings
from approvals_local.template import Template, load_template
from approvals_local.tokens import SigningKey, load_signing_key, mint

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 5
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: $default
      CorsConfiguration:
        AllowOrigins: [https://*, http://shop.example.com]
        AllowMethods: [GET, POST]
        AllowHeaders: [Authorization, Content-Type]
        MaxAge: 600
      DefaultRouteSettings:
        ThrottlingBurstLimit: 3
        ThrottlingRateLimit: 0.5
      RouteSettings:
        "GET /unthrottled":
          ThrottlingBurstLimit: 1000
          ThrottlingRateLimit: 1000
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
        Scoped:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: /scoped, Auth: {AuthorizationScopes: [write, admin]}}
        Unscoped:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: /unscoped}
        Open:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: /open, Auth: {Authorizer: NONE}}
        Unthrottled:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /unthrottled, Auth: {Authorizer: NONE}}
  SleepFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: sleep.handler
      Timeout: 1
      Events:
        Sleep:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /sleep, Auth: {Authorizer: NONE}}
  PatientFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: sleep.handler
      Timeout: 60
      Events:
        Patient:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /patient, Auth: {Authorizer: NONE}}
"""

ECHO = """\
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
"""

# Sleeps as long as ?seconds= says, then says how long it slept; each container counts its own
# invocations, so a test sees whether a container was replaced.
SLEEP = """\
import json, os, time

invocations = 0

def handler(event, context):
    global invocations
    invocations += 1
    seconds = float((event.get("queryStringParameters") or {}).get("seconds", "0"))
    time.sleep(seconds)
    body = {"slept": seconds, "pid": os.getpid(), "invocations": invocations}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
"""


def write_project(directory: Path) -> Template:
    (directory / "template.yaml").write_text(TEMPLATE)
    functions = directory / "fn"
    functions.mkdir()
    for name, code in (("echo", ECHO), ("sleep", SLEEP)):
        (functions / f"{name}.py").write_text(textwrap.dedent(code))
    return load_template(directory / "template.yaml")


@contextlib.contextmanager
def served(
    template: Template, runtime: Invoker, key: SigningKey, settings: GatewaySettings | None = None
) -> Iterator[str]:
    """The gateway over HTTP on a free port; yields its base URL."""
    saved = dict(os.environ)  # the runtime puts the functions' environment in os.environ
    server = make_server("127.0.0.1", 0, Gateway(template.routes, runtime, key, settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def project(directory: Path, *, containers: int = 0, settings: GatewaySettings | None = None) -> Iterator[Served]:
    """The small template served: functions in this process, or in ``containers`` processes."""
    template = write_project(directory)
    key = load_signing_key(directory)
    runtime: Any
    if containers:
        runtime = Containers(template, "http://127.0.0.1:1", containers)
    else:
        runtime = FunctionRuntime(template, "http://127.0.0.1:1")
    try:
        with served(template, runtime, key, settings) as url:
            yield Served(url, key)
    finally:
        if containers:
            runtime.close()


class Served:
    def __init__(self, url: str, key: SigningKey) -> None:
        self.url = url
        self.key = key

    def token(self, scopes: tuple[str, ...] = ("write",), **options: Any) -> str:
        return mint(self.key, tenant="acme", user="ann", scopes=scopes, **options)

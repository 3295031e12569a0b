"""API Gateway (HTTP API) in front of the functions: the template's routes, its JWT authorizer and
scopes, payload format 2.0 events, and the handlers' results turned back into HTTP responses.

It fails the way API Gateway fails, so that what passes locally passes behind AWS: the
authorizer's own 401 and 403 bodies, the quotas of an HTTP API, the integration timeout, the
stage's throttling (with ``serve --throttle``), CORS preflights for any path. Where AWS documents a
limit but not the answer, the answer chosen is named in ``FIDELITY_NOTES`` and the README.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.wrappers import Request, Response

from .docs import docs_response, is_docs_path
from .functions import Invoker
from .template import ACCOUNT_ID, Cors, Route, Throttling
from .tokens import ALGORITHM, DEFAULT_SCOPES, ISSUER, InvalidToken, SigningKey, scopes_of, verify

log = logging.getLogger("approvals_local")

API_ID = "local"
# Quotas of an HTTP API (http-api-quotas); the functions enforce their own, smaller, limits.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
MAX_REQUEST_LINE_AND_HEADERS_BYTES = 10240  # the request line plus the header values
MAX_LAMBDA_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's limit on a synchronous invocation's payload
INTEGRATION_TIMEOUT_SECONDS = 30.0  # "Maximum integration timeout": then 503, the function runs on

# The bodies API Gateway answers itself; an HTTP API cannot change them.
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
NOT_FOUND = {"message": "Not Found"}
INTERNAL_ERROR = {"message": "Internal Server Error"}
SERVICE_UNAVAILABLE = {"message": "Service Unavailable"}
TOO_LARGE = {"message": "Request Entity Too Large"}
HEADERS_TOO_LARGE = {"message": "Request Header Fields Too Large"}
TOO_MANY_REQUESTS = {"message": "Too Many Requests"}

# Payload format 2.0 passes these bodies as text; any other (no Content-Type, form encoding,
# octet-stream, ...) arrives base64-encoded with isBase64Encoded.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
TEXT_MEDIA_SUFFIXES = ("+json", "+xml")

# What local mode answers where AWS documents a limit but not the response (also in the README).
FIDELITY_NOTES = (
    'request line and headers over 10240 bytes: 431 {"message":"Request Header Fields Too Large"} '
    "(AWS documents the quota, not the answer)",
    'a Lambda event over 6 MB: 413 {"message":"Request Entity Too Large"} (AWS documents the quota, not the answer)',
)


class _Response(Response):
    # A handler that sets no Content-Type gets none, as behind API Gateway.
    default_mimetype = None


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    # API Gateway prefers the most specific route: literal segments, then {param}, then {proxy+}.
    rank: tuple[int, ...]

    @classmethod
    def of(cls, route: Route) -> _CompiledRoute:
        parts: list[str] = []
        names: list[str] = []
        rank: list[int] = []
        for segment in route.path.strip("/").split("/"):
            variable = re.fullmatch(r"\{([^}]+?)(\+?)\}", segment)
            if variable is None:
                parts.append(re.escape(segment))
                rank.append(0)
            else:
                parts.append(f"(?P<p{len(names)}>{'.+' if variable.group(2) else '[^/]+'})")
                names.append(variable.group(1))
                rank.append(2 if variable.group(2) else 1)
        return cls(route, re.compile("/" + "/".join(parts)), tuple(names), tuple(rank))

    def match(self, raw_path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(raw_path)
        if found is None:
            return None
        return {name: unquote(found.group(f"p{index}")) for index, name in enumerate(self.names)}


class Throttle:
    """The stage's throttling: a token bucket per route (http-api-throttling), refilled at the
    route's rate up to its burst; an empty bucket is 429."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # route key -> (tokens, when)
        self._lock = threading.Lock()

    def allow(self, route_key: str, limits: Throttling) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(route_key, (float(limits.burst_limit), now))
            tokens = min(float(limits.burst_limit), tokens + (now - then) * limits.rate_limit)
            allowed = tokens >= 1
            self._buckets[route_key] = (tokens - 1 if allowed else tokens, now)
            return allowed


@dataclass
class GatewaySettings:
    """What ``serve`` can change; the defaults are API Gateway's."""

    throttling: bool = False  # off unless asked for: see the README
    integration_timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS
    throttle: Throttle = field(default_factory=Throttle)


class Gateway:
    """The WSGI application ``serve`` runs."""

    def __init__(
        self, routes: Iterable[Route], runtime: Invoker, key: SigningKey, settings: GatewaySettings | None = None
    ) -> None:
        self._routes = [_CompiledRoute.of(route) for route in routes]
        self._runtime = runtime
        self._key = key
        self._settings = settings or GatewaySettings()
        # An HTTP API has one CorsConfiguration, for every path (http-api-cors).
        self._cors = next((c.route.cors for c in self._routes if c.route.cors), None)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        request = Request(environ)
        response, note = self._respond(request)
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %d %.1fms%s",
            request.method,
            request.path,
            response.status_code,
            elapsed,
            f" ({note})" if note else "",
        )
        return response(environ, start_response)

    def _respond(self, request: Request) -> tuple[Response, str]:
        raw_path = urlsplit(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "").path
        raw_path = raw_path or request.path
        if request.method == "GET" and raw_path == "/.well-known/jwks.json":
            return _json(200, self._key.jwks()), ""
        if request.method == "GET" and raw_path == "/.well-known/openid-configuration":
            return _json(200, _discovery(request.host_url.rstrip("/"))), ""
        if request.method == "GET" and is_docs_path(raw_path):
            return docs_response(raw_path), ""
        cors = self._cors
        # API Gateway answers a preflight for any path, with or without a route (http-api-cors).
        if cors is not None and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return _preflight(cors, request), "CORS preflight"
        response, note = self._call(request, raw_path)
        if cors is not None:
            _add_cors(response, cors, request)
        return response, note

    def _call(self, request: Request, raw_path: str) -> tuple[Response, str]:
        # Read the body whatever the answer: a connection closed on an unread body can reach the
        # client as a reset instead of the response.
        body = request.stream.read(MAX_PAYLOAD_BYTES + 1)
        # The quotas are checked before the route, its throttling and its authorizer.
        if _request_line_and_headers_size(request) > MAX_REQUEST_LINE_AND_HEADERS_BYTES:
            return _json(431, HEADERS_TOO_LARGE), "request line and headers over 10240 bytes"
        if len(body) > MAX_PAYLOAD_BYTES:
            return _json(413, TOO_LARGE), "payload over 10 MB"
        found = self._route(request.method, raw_path)
        if found is None:
            return _json(404, NOT_FOUND), ""
        route, path_parameters = found
        limits = route.throttling if self._settings.throttling else None
        if limits is not None and not self._settings.throttle.allow(route.route_key, limits):
            return _json(429, TOO_MANY_REQUESTS), "throttled"
        claims: dict[str, Any] = {}
        token_scopes: list[str] | None = None
        if route.authorized:
            try:
                claims = verify(self._key, _token(request))
            except InvalidToken as error:
                challenge = f'Bearer scope="" error="invalid_token" error_description="{error}"'
                return _json(401, UNAUTHORIZED, {"www-authenticate": challenge}), str(error)
            if route.scopes:
                # The route's scopes: any one of them (http-api-jwt-authorizer); the event then
                # carries the token's scopes, and null on routes without scopes.
                token_scopes = scopes_of(claims)
                if not set(token_scopes) & set(route.scopes):
                    return _json(403, FORBIDDEN), "scope"
        # API Gateway routes on the path as sent but hands the function its decoded form: an
        # encoded "/" inside an id becomes a real one there (Powertools routes on rawPath).
        event = build_event(request, route, unquote(raw_path), path_parameters, claims, token_scopes, body)
        if len(json.dumps(event, separators=(",", ":")).encode()) > MAX_LAMBDA_EVENT_BYTES:
            return _json(413, TOO_LARGE), "Lambda event over 6 MB"
        try:
            result = self._invoke(route.function, event)
        except TimeoutError:
            # The integration gives up; the function runs on to its own timeout, as in AWS.
            log.warning("%s did not answer within %.0f s", route.function, self._settings.integration_timeout_seconds)
            return _json(503, SERVICE_UNAVAILABLE), "integration timeout"
        except Exception:
            # As API Gateway does when a function fails or times out: a bare 500, the traceback
            # in the logs only.
            log.exception("%s failed on %s %s", route.function, request.method, request.path)
            return _json(500, INTERNAL_ERROR), "function error"
        try:
            return http_response(result), ""
        except Exception:
            log.exception("%s returned a response API Gateway cannot use", route.function)
            return _json(500, INTERNAL_ERROR), "function error"

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        """The function's result, or TimeoutError once the integration timeout has passed."""
        outcome: Future[Any] = Future()

        def run() -> None:
            try:
                outcome.set_result(self._runtime.invoke(function, event))
            except BaseException as error:  # handed over to the request's thread
                outcome.set_exception(error)

        threading.Thread(target=run, name=f"invoke-{function}", daemon=True).start()
        return outcome.result(timeout=self._settings.integration_timeout_seconds)

    def _route(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        candidates = []
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            parameters = compiled.match(raw_path)
            if parameters is not None:
                candidates.append((compiled.rank, compiled.route.method == "ANY", compiled.route, parameters))
        if not candidates:
            return None
        _, _, route, parameters = min(candidates, key=lambda candidate: candidate[:2])
        return route, parameters


def _token(request: Request) -> str:
    """The identity source, $request.header.Authorization: the token alone, or the token after
    ``Bearer `` (http-api-jwt-authorizer)."""
    value = request.headers.get("Authorization", "").strip()
    if not value:
        raise InvalidToken("the token is missing")
    scheme, _, rest = value.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value


def _request_line_and_headers_size(request: Request) -> int:
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    line = f"{request.method} {target} {environ.get('SERVER_PROTOCOL', 'HTTP/1.1')}"
    return len(line.encode("latin-1", "replace")) + sum(
        len(value.encode("latin-1", "replace")) for _, value in request.headers.items()
    )


# --------------------------------------------------------------------------- the event
def build_event(
    request: Request,
    route: Route,
    raw_path: str,
    path_parameters: Mapping[str, str],
    claims: Mapping[str, Any],
    scopes: list[str] | None,
    body: bytes,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event, as events/*.json show one."""
    now = datetime.now(UTC)
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    cookie_header = headers.pop("cookie", "")
    headers.setdefault("x-forwarded-for", request.remote_addr or "")
    headers.setdefault("x-forwarded-proto", request.scheme)
    headers.setdefault("x-forwarded-port", str(request.environ.get("SERVER_PORT", "")))
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    domain = urlsplit("//" + request.host).hostname or request.host
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": request.query_string.decode("latin-1"),
    }
    if cookie_header:
        event["cookies"] = [cookie.strip() for cookie in cookie_header.split(";") if cookie.strip()]
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    context: dict[str, Any] = {"accountId": ACCOUNT_ID, "apiId": API_ID}
    if route.authorized:
        context["authorizer"] = {
            "jwt": {"claims": {name: _claim_text(value) for name, value in claims.items()}, "scopes": scopes}
        }
    context.update(
        {
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
    )
    event["requestContext"] = context
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["body"], event["isBase64Encoded"] = None, False
    if body and _is_text(headers.get("content-type")):
        with contextlib.suppress(UnicodeDecodeError):  # text that is not UTF-8 goes as binary
            event["body"] = body.decode("utf-8")
    if body and event["body"] is None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    return event


def _is_text(content_type: str | None) -> bool:
    """Whether payload format 2.0 passes a body of this Content-Type as text: text, JSON, XML and
    JavaScript do; everything else, a missing Content-Type included, is base64."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES or media_type.endswith(TEXT_MEDIA_SUFFIXES)


def _claim_text(value: Any) -> str:
    """Claims as API Gateway's JWT authorizer hands them over: all text, arrays as ``[a b c]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(entry) for entry in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# --------------------------------------------------------------------------- the response
def http_response(result: Any) -> Response:
    """The function's result as API Gateway returns it (payload format 2.0)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # A result without statusCode is the JSON body of a 200.
        return _json(200, result)
    headers: list[tuple[str, str]] = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError(f"the function returned a body of type {type(body).__name__}, not text")
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return _Response(data, status=int(result["statusCode"]), headers=headers)


# --------------------------------------------------------------------------- CORS
def _allowed_origin(cors: Cors, request: Request) -> str | None:
    """The Access-Control-Allow-Origin for this request's Origin, None when it is not allowed."""
    origin = request.headers.get("Origin")
    if not origin:
        return None
    for allowed in cors.allow_origins:
        if allowed == "*":
            return origin if cors.allow_credentials else "*"
        if origin_allowed(origin, allowed):
            return origin
    return None


def origin_allowed(origin: str, allowed: str) -> bool:
    """The patterns http-api-cors documents: an origin, or ``https://*`` / ``http://*`` for any
    origin of that scheme. Any other ``*`` is taken literally (see ``undocumented_origins``)."""
    if allowed.endswith("://*"):
        return origin.lower().startswith(allowed[:-1].lower()) and len(origin) > len(allowed) - 1
    return origin.lower() == allowed.lower()


def undocumented_origins(cors: Cors | None) -> list[str]:
    """AllowOrigins entries with a wildcard AWS does not document, such as ``https://*.example.com``."""
    if cors is None:
        return []
    return [entry for entry in cors.allow_origins if "*" in entry and entry != "*" and not entry.endswith("://*")]


def _add_cors(response: Response, cors: Cors, request: Request) -> None:
    # API Gateway ignores the CORS headers of the function once the API has a CORS configuration.
    for name in {name for name, _ in response.headers.items() if name.lower().startswith("access-control-")}:
        del response.headers[name]
    origin = _allowed_origin(cors, request)
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if origin != "*":
        response.headers.add("Vary", "Origin")
    if cors.allow_credentials:
        response.headers["Access-Control-Allow-Credentials"] = "true"
    if cors.expose_headers:
        response.headers["Access-Control-Expose-Headers"] = ",".join(cors.expose_headers)


def _preflight(cors: Cors, request: Request) -> Response:
    """API Gateway answers preflight requests itself: no authorizer, no function."""
    response = _Response(b"", status=204)
    origin = _allowed_origin(cors, request)
    if origin is None:
        return response
    requested_method = request.headers.get("Access-Control-Request-Method", "")
    requested_headers = request.headers.get("Access-Control-Request-Headers", "")
    methods = requested_method if "*" in cors.allow_methods else ",".join(cors.allow_methods)
    headers = requested_headers if "*" in cors.allow_headers else ",".join(cors.allow_headers)
    response.headers["Access-Control-Allow-Origin"] = origin
    if origin != "*":
        response.headers["Vary"] = "Origin"
    if methods:
        response.headers["Access-Control-Allow-Methods"] = methods
    if headers:
        response.headers["Access-Control-Allow-Headers"] = headers
    if cors.max_age is not None:
        response.headers["Access-Control-Max-Age"] = str(cors.max_age)
    if cors.allow_credentials:
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return _Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _discovery(base_url: str) -> dict[str, Any]:
    """What a Cognito user pool publishes at /.well-known/openid-configuration, minus the
    endpoints of sign-in flows this issuer does not have (tokens come from `approvals-local token`)."""
    return {
        "issuer": ISSUER,
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "response_types_supported": ["code", "token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "scopes_supported": ["openid", *DEFAULT_SCOPES],
        "claims_supported": ["sub", "iss", "aud", "client_id", "scope", "token_use", "exp", "iat", "jti"],
    }

"""The HTTP functions' router: the request as API Gateway (HTTP API, payload 2.0) hands it over,
the response as it expects it back, and the handler of the route API Gateway matched.

Why not Powertools' event handler: importing any of its resolvers runs the
``aws_lambda_powertools.event_handler`` package, which imports every resolver it has (AppSync's,
with asyncio, Bedrock's, ...) and every event data class: about 45 ms of each function's cold start
(``python -X importtime`` in Lambda's environment, docs/benchmarks.md), for routing that API
Gateway has already done. Each function serves the routes API Gateway matched for it, and the
event names the route (``routeKey``) with its decoded path parameters (``pathParameters``): the
route is a dictionary lookup, and an id holding an encoded ``/`` reaches its handler as it does in
API Gateway. CORS is API Gateway's (template.yaml's ``CorsConfiguration``; local mode does the
same): a function never answers a preflight.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

BodyT = TypeVar("BodyT")
JSON_CONTENT_TYPE = "application/json"


class Response(Generic[BodyT]):
    """What a handler answers: status, body (``bytes`` go out base64-encoded, as API Gateway
    expects binary bodies), headers; ``content_type`` is the ``Content-Type`` header unless the
    headers set one."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: BodyT | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.content_type = content_type
        if content_type:
            self.headers.setdefault("Content-Type", content_type)

    def to_gateway(self) -> dict[str, Any]:
        """The Lambda proxy integration's response (payload 2.0)."""
        body: Any = self.body
        encoded = isinstance(body, bytes)
        if encoded:
            body = base64.b64encode(body).decode()
        return {
            "statusCode": self.status_code,
            "body": body,
            "isBase64Encoded": encoded,
            "headers": self.headers,
            "cookies": [],
        }


class JwtAuthorizer:
    def __init__(self, authorizer: Mapping[str, Any]) -> None:
        jwt = authorizer.get("jwt") or {}
        # The token's claims, as API Gateway's JWT authorizer hands them over (arrays as "[a b]").
        self.jwt_claim: dict[str, Any] = jwt.get("claims") or {}
        self.jwt_scopes: list[str] = jwt.get("scopes") or []


class RequestContext:
    def __init__(self, context: Mapping[str, Any]) -> None:
        self.request_id: str = context.get("requestId", "")
        self.authorizer = JwtAuthorizer(context.get("authorizer") or {})


class Headers(dict[str, str]):
    """The request's headers, looked up in any case (HTTP names are case-insensitive; API Gateway
    sends them in lower case)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__((name.lower(), value) for name, value in headers.items())

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class GatewayEvent:
    """The parts of an HTTP API event the functions read."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self._event = event

    @property
    def raw_event(self) -> Mapping[str, Any]:
        return self._event

    @property
    def route_key(self) -> str:
        return str(self._event.get("routeKey") or "")

    @property
    def path_parameters(self) -> dict[str, str]:
        return dict(self._event.get("pathParameters") or {})

    @cached_property
    def headers(self) -> Headers:
        return Headers(self._event.get("headers") or {})

    @property
    def query_string_parameters(self) -> dict[str, str]:
        return dict(self._event.get("queryStringParameters") or {})

    @property
    def request_context(self) -> RequestContext:
        return RequestContext(self._event.get("requestContext") or {})

    @property
    def body(self) -> str | None:
        body = self._event.get("body")
        return None if body is None else str(body)

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self._event.get("isBase64Encoded"))

    @cached_property
    def decoded_body(self) -> str | None:
        """The body as text: API Gateway base64-encodes bodies it does not take for text. Raises
        ``binascii.Error`` or ``UnicodeDecodeError`` when it is neither base64 nor UTF-8."""
        body = self.body
        if self.is_base64_encoded and body:
            return base64.b64decode(body.encode()).decode()
        return body


RouteHandler = Callable[..., Response[str]]
ExceptionT = TypeVar("ExceptionT", bound=BaseException)
ErrorHandler = Callable[[Any], Response[str]]


class GatewayRoutedResolver:
    """Each handler registered under its API Gateway route key; exceptions answered by the
    handler registered for the nearest class in their MRO."""

    current_event: GatewayEvent
    lambda_context: LambdaContext

    def __init__(self) -> None:
        self._by_route_key: dict[str, tuple[RouteHandler, dict[str, str]]] = {}
        self._error_handlers: dict[type[BaseException], ErrorHandler] = {}
        self._not_found: Callable[[], Response[str]] = _no_route

    def gateway_route(self, route_key: str, **argument_names: str) -> Callable[[RouteHandler], RouteHandler]:
        """Registers the handler of the route ``route_key``, written as template.yaml writes it
        (``GET /approval/{tenant}/approvals/{approvalId}``); its path parameters reach the handler
        as snake_case keyword arguments (``approval_id``), or under the name ``argument_names``
        gives a parameter (``id="entry_id"``)."""
        path = route_key.split(" ", 1)[1]
        arguments = {name: argument_names.get(name, _snake_case(name)) for name in re.findall(r"\{(\w+)\}", path)}

        def register(handler: RouteHandler) -> RouteHandler:
            self._by_route_key[route_key] = (handler, arguments)
            return handler

        return register

    def exception_handler(
        self, error_class: type[BaseException] | list[type[BaseException]]
    ) -> Callable[[ErrorHandler], ErrorHandler]:
        def register(handler: ErrorHandler) -> ErrorHandler:
            for each in error_class if isinstance(error_class, list) else [error_class]:
                self._error_handlers[each] = handler
            return handler

        return register

    def not_found(self, handler: Callable[[], Response[str]]) -> Callable[[], Response[str]]:
        """The answer to an event naming no route of this function."""
        self._not_found = handler
        return handler

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self.current_event = GatewayEvent(event)
        self.lambda_context = context
        try:
            response = self._answer()
        except Exception as error:
            handler = next((self._error_handlers[c] for c in type(error).__mro__ if c in self._error_handlers), None)
            if handler is None:
                raise
            response = handler(error)
        return response.to_gateway()

    def _answer(self) -> Response[str]:
        found = self._by_route_key.get(self.current_event.route_key)
        parameters = self.current_event.path_parameters
        if found is None or not all(isinstance(parameters.get(name), str) for name in found[1]):
            return self._not_found()
        handler, arguments = found
        return handler(**{argument: parameters[name] for name, argument in arguments.items()})


def _no_route() -> Response[str]:
    return Response(404, JSON_CONTENT_TYPE, '{"message":"Not found"}')


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

"""The HTTP edge every function shares: who is calling (the one place that reads token claims),
the request body, and the one place that maps errors to the contract's responses.

Checks run in the contract's order ("Which error comes first"): authentication, scope, body size,
tenant, body, then the use case's own rules.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from approval_core.adapters.item_limits import NUMBER_LIMITS, storable_number
from approval_core.api.observability import logger, metrics, observed
from approval_core.api.settings import Settings
from approval_core.domain.caller import Caller
from approval_core.domain.directory import RevisionQuery
from approval_core.domain.errors import (
    ApprovalError,
    ErrorDetail,
    Forbidden,
    InvalidAccessToken,
    PayloadTooLarge,
    ServiceBusy,
    ValidationFailed,
    excerpt,
)
from approval_core.domain.listing import ListRequest
from approval_core.domain.query import QueryError, parse_query, parse_sort
from approval_core.domain.validation import MAX_FIELD_LENGTH, validate
from approval_core.json_text import dumps, loads

# Functions name their responses through this module only, so the HTTP edge stays in one place.
__all__ = ["Response"]

ModelT = TypeVar("ModelT", bound=BaseModel)
LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
RouteHandler = Callable[..., Response[str]]

READ_SCOPES = frozenset({"approval.approval_read_own", "approval.approval_read"})
MANAGE_SCOPES = frozenset({"approval.approval_manage_own", "approval.approval_manage"})
DIRECTORY_SCOPES = frozenset({"approval.directory_manage"})
POLICY_SCOPES = frozenset({"approval.policy_manage", "approval.policy_manage_own"})

RETRY_AFTER_SECONDS = "1"
TENANT_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,15}$")

# DynamoDB answers these when it is overloaded or briefly unavailable: the client may retry.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


class GatewayRoutedResolver(APIGatewayHttpResolver):
    """Powertools' resolver, with each handler registered under its API Gateway route key.

    API Gateway matches the route on the path as the client sent it, then hands the function the
    decoded ``rawPath``, on which Powertools routes again. An id holding an encoded ``/``, or a
    character outside Powertools' route pattern, makes a decoded path that matches no rule,
    although API Gateway did route it: the event still names its ``routeKey`` and its decoded
    ``pathParameters``, so the handler of that route answers it (for an approval id: the
    contract's 404001, never a routing error).
    """

    def __init__(self) -> None:
        super().__init__(serializer=dumps)
        self._by_route_key: dict[str, tuple[RouteHandler, dict[str, str]]] = {}

    def gateway_route(self, route_key: str, **argument_names: str) -> Callable[[RouteHandler], RouteHandler]:
        """Registers the handler of the route ``route_key``, written as template.yaml writes it
        (``GET /approval/{tenant}/approvals/{approvalId}``); its path parameters reach the handler
        as snake_case keyword arguments (``approval_id``), or under the name ``argument_names``
        gives a parameter (``id="entry_id"``)."""
        method, path = route_key.split(" ", 1)
        arguments = {name: argument_names.get(name, _snake_case(name)) for name in re.findall(r"\{(\w+)\}", path)}
        rule = re.sub(r"\{(\w+)\}", lambda found: f"<{arguments[found.group(1)]}>", path)

        def register(handler: RouteHandler) -> RouteHandler:
            self.route(rule, method)(handler)
            self._by_route_key[route_key] = (handler, arguments)
            return handler

        return register

    def answer_as_routed_by_the_gateway(self) -> Response[str] | None:
        """The answer of the route API Gateway matched, when Powertools matched none."""
        event = self.current_event.raw_event
        found = self._by_route_key.get(str(event.get("routeKey")))
        parameters = event.get("pathParameters") or {}
        if found is None:
            return None
        handler, arguments = found
        if not all(isinstance(parameters.get(name), str) for name in arguments):
            return None
        return handler(**{argument: parameters[name] for name, argument in arguments.items()})


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def new_resolver() -> GatewayRoutedResolver:
    app = GatewayRoutedResolver()
    _install_error_handlers(app)
    return app


def lambda_entry_point(
    app: APIGatewayHttpResolver, on_invoke: Callable[[LambdaContext], None] | None = None
) -> LambdaHandler:
    """The function's handler: the resolver under the one Powertools stack (``observed``), with
    the correlation id from the API Gateway request id. ``on_invoke`` sees each invocation's
    context first (the idempotency utility needs it)."""

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if on_invoke is not None:
            on_invoke(context)
        return app.resolve(event, context)

    return observed(lambda_handler, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)


# --------------------------------------------------------------------------- the caller
def authorize(event: APIGatewayProxyEventV2, settings: Settings, tenant: str, scopes: frozenset[str]) -> Caller:
    """The caller, once the token, its scopes, the body size and the tenant have been checked.

    API Gateway's JWT authorizer has verified the token's signature, expiry, issuer and audience,
    and the route's scopes; the scope and tenant checks are repeated here so that every way of
    invoking a function (local mode, sam local, tests) behaves as API Gateway does.
    """
    claims = event.request_context.authorizer.jwt_claim
    user_id = _claim_text(claims.get(settings.subject_claim))
    if not user_id:
        raise InvalidAccessToken("the token has no subject")
    # As API Gateway's JWT authorizer reads them: the scope claim, or scp without it.
    granted = set(_claim_list(claims.get(settings.scope_claim, claims.get("scp"))))
    if granted.isdisjoint(scopes):
        raise Forbidden(f"The access token lacks the scope {' or '.join(sorted(scopes))}")
    if len(_body_bytes(event)) > settings.max_body_bytes:
        raise PayloadTooLarge(f"The request body exceeds {settings.max_body_bytes} bytes")
    if not TENANT_PATTERN.match(tenant):
        raise ValidationFailed(
            f"tenant: {excerpt(tenant)} is not a valid tenant",
            [ErrorDetail(field="tenant", message="tenant: must match ^[a-z][a-z0-9]+$, 3 to 16 characters")],
        )
    if tenant != _claim_text(claims.get(settings.tenant_claim)):
        raise Forbidden(f"The access token is not valid for tenant {tenant}")
    groups = claims.get(settings.groups_claim)
    return Caller(
        tenant=tenant,
        user_id=user_id,
        groups=None if groups is None else frozenset(_claim_list(groups)),
        scopes=frozenset(scope for scope in granted if scope.startswith("approval.")),
    )


def _claim_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _claim_list(value: Any) -> list[str]:
    """API Gateway hands array claims to the function as one string, ``[a b]``; scopes are
    space-separated. Accept both, and real lists."""
    if isinstance(value, list):
        return [str(entry) for entry in value]
    if isinstance(value, str):
        return [entry for entry in re.split(r"[\s,]+", value.strip().strip("[]")) if entry]
    return []


# --------------------------------------------------------------------------- the body
def parse_body(event: APIGatewayProxyEventV2, model: type[ModelT]) -> ModelT:
    """The request body as ``model``; any problem is APPROVAL-400001 naming the field."""
    return validate(parse_json(event), model)


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body exactly as sent (what a webhook's signature covers)."""
    return _body_bytes(event)


def _body_bytes(event: APIGatewayProxyEventV2) -> bytes:
    """The body as sent: API Gateway base64-encodes bodies that are not text."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def parse_json(event: APIGatewayProxyEventV2) -> Any:
    """The request body as JSON, numbers as ``Decimal``; APPROVAL-400001 when it is not JSON, not
    UTF-8, or holds a number DynamoDB cannot store.

    API Gateway base64-encodes every body whose Content-Type is not text, JSON, XML or JavaScript
    (a JSON body sent without Content-Type, say): Powertools' ``decoded_body`` undoes that."""
    try:
        raw = event.decoded_body or ""
    except (UnicodeDecodeError, binascii.Error):
        raise ValidationFailed("The request body is not UTF-8 text", [ErrorDetail(message="body: not UTF-8")]) from None
    if not raw:
        raise ValidationFailed("The request body is empty", [ErrorDetail(message="body: cannot be null")])
    try:
        document = loads(raw)
    except RecursionError:
        raise ValidationFailed(details=[ErrorDetail(message=NESTED_TOO_DEEP)]) from None
    except ValueError as error:  # simplejson's JSONDecodeError is one
        raise ValidationFailed(
            "Malformed JSON",
            [ErrorDetail(message=f"body: malformed JSON ({error.args[0] if error.args else ''})")],
        ) from None
    _check_storable(document)
    return document


# A request body nested deeper than this cannot fit DynamoDB's 32 levels once it is part of the
# approval (the adapter checks the item itself before it writes: item_limits).
MAX_BODY_DEPTH = 24
NESTED_TOO_DEEP = f"body: nested more than {MAX_BODY_DEPTH} levels deep"


def _check_storable(document: Any) -> None:
    """APPROVAL-400001 for what DynamoDB would refuse; iterative, so no depth can overflow it."""
    pending: list[tuple[Any, str, int]] = [(document, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_BODY_DEPTH:
            raise ValidationFailed(details=[ErrorDetail(message=NESTED_TOO_DEEP)])
        if isinstance(value, dict):
            pending.extend((member, f"{path}.{name}", depth + 1) for name, member in value.items())
        elif isinstance(value, list):
            pending.extend((member, f"{path}.{index}", depth + 1) for index, member in enumerate(value))
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool) and not storable_number(Decimal(value)):
            field = path.removeprefix(".")[:MAX_FIELD_LENGTH]
            raise ValidationFailed(details=[ErrorDetail(field=field, message=f"{field}: {NUMBER_LIMITS}")])


def parse_revision(event: APIGatewayProxyEventV2) -> Decimal | None:
    """The ``version`` or ``modifiedAt`` query parameter of a directory write, as its revision."""
    params = event.query_string_parameters or {}
    wanted = {name: params[name] for name in ("version", "modifiedAt") if params.get(name)}
    return validate(wanted, RevisionQuery).revision()


PATH_ID = re.compile(r"^[^#\s/]{1,128}$")


def validate_path_id(value: str, name: str) -> None:
    """Ids end up in DynamoDB keys: 1 to 128 characters, no '#', no white space."""
    if not PATH_ID.match(value):
        message = f"{name}: must be 1 to 128 characters without '#' or white space"
        raise ValidationFailed(message, [ErrorDetail(field=name, message=message)])


def parse_list_request(event: APIGatewayProxyEventV2) -> ListRequest:
    """The list's query parameters (APPROVAL-400001 naming the parameter when one is bad)."""
    params = event.query_string_parameters or {}
    try:
        query = parse_query(params.get("q"))
        sort = parse_sort(params.get("sort"))
    except QueryError as error:
        parameter = str(error).split(":", 1)[0]
        raise ValidationFailed(str(error), [ErrorDetail(field=parameter, message=str(error))]) from None
    return ListRequest(
        query=query,
        sort=sort,
        page_number=_int_parameter(params, "pageNumber", default=1, low=1, high=1_000_000),
        page_size=_int_parameter(params, "pageSize", default=60, low=1, high=60),
        with_total=(event.headers.get("x-total-count") or "").strip().lower() == "true",
        default_sort=not (params.get("sort") or "").strip(),
    )


def _int_parameter(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high):
        message = f"{name}: must be an integer from {low} to {high}"
        raise ValidationFailed(message, [ErrorDetail(field=name, message=message)])
    return int(raw)


# --------------------------------------------------------------------------- responses
def no_content() -> Response[str]:
    return Response(status_code=204, body="")


def json_response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=None if body is None else dumps(body),
        headers=dict(headers or {}),
    )


def error_response(error: ApprovalError) -> Response[str]:
    if isinstance(error, InvalidAccessToken):
        # A token API Gateway's JWT authorizer let through but the service cannot use (no
        # subject): answered as the authorizer answers, so clients see one kind of 401.
        challenge = f'Bearer scope="" error="invalid_token" error_description="{error.message}"'
        return json_response(401, {"message": "Unauthorized"}, headers={"www-authenticate": challenge})
    body: dict[str, Any] = {
        "code": error.status,
        "status": HTTPStatus(error.status).phrase,
        "message": error.message,
    }
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(error, ServiceBusy) else {}
    if error.error_code:
        body["errorCode"] = error.error_code
    if error.details:
        body["details"] = [
            {key: value for key, value in vars(detail).items() if value is not None} for detail in error.details
        ]
    return json_response(error.status, body, headers=headers)


def _internal_error() -> Response[str]:
    return json_response(500, {"code": 500, "status": "Internal Server Error", "message": "Unexpected error"})


def _install_error_handlers(app: GatewayRoutedResolver) -> None:
    @app.exception_handler(ApprovalError)
    def _refused(error: ApprovalError) -> Response[str]:
        logger.info("Request refused", extra={"status": error.status, "errorCode": error.error_code})
        metrics.add_metric(name="RequestRefused", unit=MetricUnit.Count, value=1)
        return error_response(error)

    @app.exception_handler([ClientError, BotoCoreError])
    def _dependency_failed(error: Exception) -> Response[str]:
        code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
        if code == "ValidationException":
            # DynamoDB refused the request as it was asked (a key or an item beyond its limits):
            # the same request would fail again, so it is the client's 400, not a 503 or a 500.
            logger.warning("DynamoDB refused the request as invalid", extra={"errorCode": code})
            metrics.add_metric(name="RequestRefused", unit=MetricUnit.Count, value=1)
            return error_response(ValidationFailed("The request cannot be stored"))
        if isinstance(error, BotoCoreError) or code in RETRYABLE_ERROR_CODES:
            logger.warning("DynamoDB unavailable", extra={"errorCode": code or type(error).__name__})
            metrics.add_metric(name="DependencyUnavailable", unit=MetricUnit.Count, value=1)
            return error_response(ServiceBusy())
        logger.exception("DynamoDB refused a request")
        metrics.add_metric(name="UnexpectedError", unit=MetricUnit.Count, value=1)
        return _internal_error()

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("Unexpected error")
        metrics.add_metric(name="UnexpectedError", unit=MetricUnit.Count, value=1)
        return _internal_error()

    @app.not_found
    def _no_route(error: Exception) -> Response[str]:
        routed = app.answer_as_routed_by_the_gateway()
        if routed is not None:
            return routed
        return json_response(404, {"code": 404, "status": "Not Found", "message": "No such resource"})

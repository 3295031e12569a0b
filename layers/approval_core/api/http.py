"""The HTTP edge every function shares: who is calling (the one place that reads token claims),
the function's handler under the Powertools stack, and the one place that maps errors to the
contract's responses. Functions import every HTTP name from here; the pieces live in small
modules: ``routing`` (request, response, router), ``body`` (the request body),
``list_parameters`` and ``parameters`` (the list's and the directory's parameters, imported
lazily: only the functions that read them load the query language or the directory's models).

Checks run in the contract's order ("Which error comes first"): authentication, scope, body size,
tenant, body, then the use case's own rules.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from approval_core.api.body import body_bytes, parse_body, parse_json, raw_body
from approval_core.api.observability import logger, metrics, observed
from approval_core.api.routing import JSON_CONTENT_TYPE, GatewayEvent, GatewayRoutedResolver, Response
from approval_core.api.settings import Settings
from approval_core.domain.caller import Caller
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
from approval_core.json_text import dumps

if TYPE_CHECKING:
    from approval_core.api.list_parameters import parse_list_request
    from approval_core.api.parameters import parse_revision, validate_path_id

# Functions name every HTTP piece through this module only, so the HTTP edge stays in one place.
__all__ = [
    "DIRECTORY_SCOPES",
    "MANAGE_SCOPES",
    "READ_SCOPES",
    "GatewayEvent",
    "GatewayRoutedResolver",
    "Response",
    "authorize",
    "error_response",
    "json_response",
    "lambda_entry_point",
    "new_resolver",
    "no_content",
    "parse_body",
    "parse_json",
    "parse_list_request",
    "parse_revision",
    "raw_body",
    "validate_path_id",
]

# Imported on first use (module ``__getattr__``): see the module's docstring.
_LAZY = {
    "parse_revision": "approval_core.api.parameters",
    "validate_path_id": "approval_core.api.parameters",
    "parse_list_request": "approval_core.api.list_parameters",
}

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def new_resolver() -> GatewayRoutedResolver:
    app = GatewayRoutedResolver()
    _install_error_handlers(app)
    return app


def lambda_entry_point(
    app: GatewayRoutedResolver, on_invoke: Callable[[LambdaContext], None] | None = None
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
def authorize(event: GatewayEvent, settings: Settings, tenant: str, scopes: frozenset[str]) -> Caller:
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
    if len(body_bytes(event)) > settings.max_body_bytes:
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


# --------------------------------------------------------------------------- responses
def no_content() -> Response[str]:
    return Response(status_code=204, body="")


def json_response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON_CONTENT_TYPE,
        body=None if body is None else dumps(body),
        headers=dict(headers or {}),
    )


def error_response(error: ApprovalError) -> Response[str]:
    if isinstance(error, InvalidAccessToken):
        # A token API Gateway's JWT authorizer let through but the service cannot use (no
        # subject): answered as the authorizer answers, so clients see one kind of 401.
        challenge = f'Bearer scope="" error="invalid_token" error_description="{error.message}"'
        return json_response(401, {"message": "Unauthorized"}, headers={"www-authenticate": challenge})
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(error, ServiceBusy) else {}
    return json_response(error.status, error_body(error), headers=headers)


def error_body(error: ApprovalError) -> dict[str, Any]:
    """The contract's error body: what an error response carries, and what a bulk decision's
    result carries for each approval it could not decide."""
    body: dict[str, Any] = {
        "code": error.status,
        "status": HTTPStatus(error.status).phrase,
        "message": error.message,
    }
    if error.error_code:
        body["errorCode"] = error.error_code
    if error.details:
        body["details"] = [
            {key: value for key, value in vars(detail).items() if value is not None} for detail in error.details
        ]
    return body


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
    def _no_route() -> Response[str]:
        return json_response(404, {"code": 404, "status": "Not Found", "message": "No such resource"})

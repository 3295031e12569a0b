"""Powertools Logger, Tracer and Metrics, created once and shared by every function, and the one
decorator stack every handler (HTTP and event alike) runs under.

Tracing: Lambda's active tracing (template.yaml) records every invocation in X-Ray whatever is
set here. The X-Ray SDK's subsegments (one per DynamoDB call, per traced method) are opt-in:
``APPROVAL_DETAILED_TRACING=true`` (the template's ``DetailedTracing`` parameter). Off, the SDK is
never imported: Powertools' Tracer imports it and patches botocore even when disabled, and that
is most of a cold start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

SERVICE = "approval-service"
DETAILED_TRACING = os.getenv("APPROVAL_DETAILED_TRACING", "false").strip().lower() == "true"

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


class UntracedTracer:
    """The Tracer decorators the functions use, passing calls through untouched."""

    def capture_lambda_handler(
        self, lambda_handler: HandlerT | None = None, capture_response: bool | None = None
    ) -> Any:
        return lambda_handler if lambda_handler is not None else (lambda handler: handler)

    def capture_method(self, method: HandlerT | None = None, capture_response: bool | None = None) -> Any:
        return method if method is not None else (lambda function: function)


def _tracer() -> Any:
    if not DETAILED_TRACING:
        return UntracedTracer()
    from aws_lambda_powertools import Tracer

    return Tracer(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE))


logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE))
tracer = _tracer()
# The namespace has a default so that importing the layer never depends on the environment order.
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "ApprovalService"))


def observed(handler: HandlerT, correlation_id_path: str | None = None) -> HandlerT:
    """``handler`` under the Powertools stack: Lambda context (and correlation id) in the logs,
    tracing without capturing responses, metrics flushed after each invocation."""
    traced = tracer.capture_lambda_handler(handler, capture_response=False)
    measured = metrics.log_metrics(traced)
    return cast(HandlerT, logger.inject_lambda_context(measured, correlation_id_path=correlation_id_path))

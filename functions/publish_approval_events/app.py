"""DynamoDB stream of the approvals table -> EventBridge: one event per committed change."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.stream import publish_changes
from approval_core.api.wiring import event_publisher

publisher = event_publisher()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return publish_changes(event, publisher, context)

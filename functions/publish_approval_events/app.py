"""DynamoDB stream of the approvals table -> EventBridge: one event per committed change."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.observability import observed
from approval_core.api.stream import publish_changes
from approval_core.api.wiring import event_publisher

publisher = event_publisher()


def handle(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return publish_changes(event, publisher, context)


lambda_handler = observed(handle)

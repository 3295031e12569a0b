"""Scheduled: moves overdue PENDING approvals to EXPIRED (rule 13)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.wiring import approval_service

# Stop with this much time left: one more expiry, the metrics flush and the log must still fit.
SAFETY_MARGIN_MS = 5_000

service = approval_service()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    result = service.expire_overdue(has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS)
    metrics.add_metric(name="ApprovalsExpired", unit=MetricUnit.Count, value=result.expired)
    metrics.add_metric(name="ApprovalsStillOverdue", unit=MetricUnit.Count, value=result.still_overdue)
    logger.info("Expiry sweep", extra=asdict(result))
    return asdict(result)

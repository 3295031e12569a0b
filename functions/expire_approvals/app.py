"""Scheduled: moves overdue PENDING approvals to EXPIRED (rule 13).

On a table written by a version before status keys, each run first continues their backfill
(idempotent, resumable) until it is complete; from then on that costs one read per container.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.observability import logger, metrics, observed
from approval_core.api.wiring import approval_service

# Stop with this much time left: one more expiry, the metrics flush and the log must still fit.
SAFETY_MARGIN_MS = 5_000

service = approval_service()


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    def has_time() -> bool:
        return context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS

    if not service.complete_status_keys(has_time):
        logger.info("Status keys backfill continues next run")
    result = service.expire_overdue(has_time=has_time)
    metrics.add_metric(name="ApprovalsExpired", unit=MetricUnit.Count, value=result.expired)
    metrics.add_metric(name="ApprovalsStillOverdue", unit=MetricUnit.Count, value=result.still_overdue)
    logger.info("Expiry sweep", extra=asdict(result))
    return asdict(result)


lambda_handler = observed(handle)

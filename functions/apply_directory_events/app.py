"""Applies the queued Emporix events to the directory, one entity's events in order (FIFO message
groups). A failed event is retried (and the ones after it in its group wait); after the queue's
maxReceiveCount it goes to the dead-letter queue, which alarms."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.observability import logger, metrics, observed, tracer
from approval_core.api.wiring import directory_feed
from approval_core.emporix import apply_event

feed = directory_feed()
processor = SqsFifoPartialProcessor()
# A batch whose every record failed is answered like any other (its records are listed as failed
# and retried), not by failing the invocation: an unfinished propagation is no error, and what
# keeps failing reaches the dead-letter queue, which alarms.
processor.raise_on_entire_batch_failure = False
# Leave this much of the invocation for the records after a large company's propagation.
RESERVED_MILLIS = 8000
_invocation: dict[str, LambdaContext] = {}


def _time_left() -> bool:
    context = _invocation.get("context")
    return context is None or context.get_remaining_time_in_millis() > RESERVED_MILLIS


class PropagationUnfinished(Exception):
    """A large company's change has not reached every member yet: the message is retried after
    the queue's visibility timeout and carries on where this one stopped (later events of the
    same company wait for it)."""


@tracer.capture_method(capture_response=False)
def apply_record(record: SQSRecord) -> None:
    message: dict[str, Any] = json.loads(record.body)
    applied = apply_event(feed, message["tenant"], message["eventType"], message["payload"], _time_left)
    outcome = "IGNORED" if applied.outcome is None else applied.outcome.value
    logger.info("Directory event applied", extra={"eventType": applied.event_type, "outcome": outcome})
    metrics.add_metric(name=f"DirectoryEvent{outcome.title()}", unit=MetricUnit.Count, value=1)
    if not applied.complete:
        raise PropagationUnfinished(message["eventType"])


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _invocation["context"] = context
    return dict(
        process_partial_response(event=event, record_handler=apply_record, processor=processor, context=context)
    )


lambda_handler = observed(handle)

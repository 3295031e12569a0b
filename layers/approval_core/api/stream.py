"""The approvals table's stream -> one event per committed approval change, in stream order.

From the first record that fails, the rest of the batch is reported as failed without being
published, so Lambda retries from there and consumers still see an approval's events in the order
of its versions. Duplicates (a retried batch) carry the same ``detail.id`` and ``detail.version``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.adapters.approval_store import changed_approval
from approval_core.api.observability import metrics
from approval_core.domain.events import approval_changes
from approval_core.ports import EventPublisher


class EarlierRecordFailed(Exception):
    """Held back for the retry that follows the failed record it comes after."""


def publish_changes(
    event: dict[str, Any], publisher: EventPublisher, context: LambdaContext | None = None
) -> PartialItemFailureResponse:
    failed = False

    def publish_in_order(record: DynamoDBRecord) -> None:
        nonlocal failed
        if failed:
            raise EarlierRecordFailed("an earlier record of this batch failed")
        try:
            _publish(record, publisher)
        except Exception:
            failed = True
            raise

    # A batch whose first record fails fails entirely: still a partial response (every record
    # listed), so Lambda retries from the first record rather than treating it as a crash.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=publish_in_order, processor=processor, context=context)


def _publish(record: DynamoDBRecord, publisher: EventPublisher) -> None:
    stream = record.dynamodb
    changed = changed_approval(stream.keys or {}, stream.new_image) if stream else None
    if changed is None:
        return
    tenant, approval = changed
    old_history = (stream.old_image or {}).get("history") if stream else None
    entries_before = len(old_history) if isinstance(old_history, list) else None
    for event in approval_changes(tenant, approval, entries_before):
        publisher.publish(event)
        metrics.add_metric(name="ApprovalEventsPublished", unit=MetricUnit.Count, value=1)

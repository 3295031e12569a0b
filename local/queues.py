"""The template's SQS events, run as Lambda's event source mappings run them: each mapping polls
its queue in the embedded server, invokes the function with Lambda's SQS event (up to BatchSize
messages), and deletes what succeeded. With ReportBatchItemFailures the function's
batchItemFailures stay on the queue; a function that raises leaves the whole batch. What stays
becomes visible again after a short pause and is retried (a FIFO queue's group waits for it)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .events import aws_client
from .functions import Invoker
from .pollers import Pollers
from .template import QueueSource, Template

log = logging.getLogger("approvals_local")

POLL_SECONDS = 0.2
IDLE_POLL_SECONDS = 1.0  # an empty queue is asked less and less often, up to this
RETRY_AFTER_SECONDS = 1  # how long a failed message stays invisible before the next attempt
MAX_MESSAGES_PER_RECEIVE = 10  # SQS's limit


class QueueSources(Pollers):
    """Every enabled SQS event of the template, each polled by a thread of its own."""

    def __init__(self, template: Template, runtime: Invoker, aws_endpoint: str, interval: float = POLL_SECONDS) -> None:
        super().__init__()
        for function in template.functions.values():
            for source in function.queue_sources:
                if not source.enabled:
                    continue
                mapping = _Mapping(template, source, runtime, aws_endpoint, interval, self._stopped)
                name = f"approvals-local-queue-{source.function}-{source.name}"
                self._add(name, mapping.run)


class _Mapping:
    def __init__(
        self,
        template: Template,
        source: QueueSource,
        runtime: Invoker,
        aws_endpoint: str,
        interval: float,
        stopped: threading.Event,
    ) -> None:
        queue = template.queues[source.queue]
        self._source = source
        self._queue_url = queue.url
        self._queue_arn = queue.arn
        self._runtime = runtime
        self._sqs = aws_client("sqs", aws_endpoint)
        self._interval = interval
        self._stopped = stopped
        self._label = f"{source.function}.{source.name}"
        self._failing = False

    def run(self) -> None:
        pause = self._interval
        while not self._stopped.is_set():
            try:
                busy = self._cycle()
            except (BotoCoreError, ClientError) as error:
                if not self._failing:
                    log.warning("%s: cannot read queue %s: %s", self._label, self._source.queue, error)
                self._failing = True
                self._stopped.wait(1.0)
                continue
            self._failing = False
            if busy:
                pause = self._interval
            else:
                # Every receive is a request the embedded server serves one at a time, as it
                # serves the functions' DynamoDB calls: an idle queue should not compete.
                self._stopped.wait(pause)
                pause = min(pause * 2, max(IDLE_POLL_SECONDS, self._interval))

    def _cycle(self) -> bool:
        # No long polling: the embedded server answers one request at a time, and a waiting
        # receive would hold up every other call to it.
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self._source.batch_size, MAX_MESSAGES_PER_RECEIVE),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return False
        failed = self._invoke(messages)
        for message in messages:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=RETRY_AFTER_SECONDS,
                )
            else:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return True

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        """The ids of the messages that failed."""
        started = time.perf_counter()
        every = {message["MessageId"] for message in messages}
        try:
            result = self._runtime.invoke(self._source.function, {"Records": [self._record(m) for m in messages]})
        except Exception as error:
            log.warning("%s failed on %d messages: %s", self._label, len(messages), error or type(error).__name__)
            return every
        failed: set[str] = set()
        if self._source.report_batch_item_failures and isinstance(result, dict):
            for failure in result.get("batchItemFailures") or []:
                identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
                if isinstance(identifier, str) and identifier in every:
                    failed.add(identifier)
                else:  # Lambda reads a failure that names no message of the batch as all failed
                    failed |= every
        log.info(
            "queue %s %d messages %.1fms%s",
            self._label,
            len(messages),
            (time.perf_counter() - started) * 1000,
            f" ({len(failed)} failed)" if failed else "",
        )
        return failed

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._queue_arn.split(":")[3],
        }

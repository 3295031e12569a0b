"""The template's DynamoDB events, run as Lambda's event source mappings run them.

Each mapping reads its table's stream shard by shard (a child shard only after its parent is read
to its end, so the changes of one item stay in order), keeps the records that pass its
FilterCriteria, gathers them into batches of up to BatchSize for up to
MaximumBatchingWindowInSeconds, and invokes the function with Lambda's DynamoDB Streams event.
A batch that fails is retried before anything after it: from the first failed record on when the
function reports batch item failures, else whole (or in halves, with BisectBatchOnFunctionError);
after MaximumRetryAttempts retries its records are dropped (logged, and sent to the OnFailure
destination when that is a local queue).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import patterns
from .events import aws_client
from .functions import Invoker
from .pollers import Pollers
from .template import ACCOUNT_ID, REGION, StreamSource, Template

log = logging.getLogger("approvals_local")

POLL_SECONDS = 0.2
SHARD_REFRESH_SECONDS = 2.0  # how often to look for new shards (a stream splits or rolls over)
ITERATOR_RENEW_SECONDS = 2.0  # how often an idle shard gets a fresh iterator (see _read)
TROUBLE_PAUSE_SECONDS = 1.0  # after the store failed to answer
MAX_RECORDS_PER_READ = 1000  # GetRecords' limit
MAX_RETRY_PAUSE_SECONDS = 2.0


class StreamSources(Pollers):
    """Every enabled DynamoDB event of the template, each read by a thread of its own."""

    def __init__(
        self,
        template: Template,
        runtime: Invoker,
        dynamodb_endpoint: str,
        aws_endpoint: str | None = None,
        interval: float = POLL_SECONDS,
    ) -> None:
        super().__init__()
        for function in template.functions.values():
            for source in function.streams:
                if not source.enabled:
                    continue
                mapping = _Mapping(template, source, runtime, dynamodb_endpoint, aws_endpoint, interval, self._stopped)
                name = f"approvals-local-stream-{source.function}-{source.name}"
                self._add(name, mapping.run)


class _NoStream(Exception):
    pass


@dataclass(frozen=True)
class _Failure:
    index: int  # the first record of the batch to retry
    raised: bool  # the function raised (else it reported batch item failures)


@dataclass
class _Shard:
    id: str
    parent: str | None
    start: str  # the iterator type to begin with: TRIM_HORIZON or LATEST
    iterator: str | None = None
    iterator_since: float = 0.0
    last_read: str | None = None  # sequence number of the last record read
    pending: list[dict[str, Any]] = field(default_factory=list)  # read, filtered, not yet delivered
    pending_since: float = 0.0
    ended: bool = False  # read to its end: done once pending is delivered


class _Mapping:
    """One event source mapping: its stream, its shards, its batches."""

    def __init__(
        self,
        template: Template,
        source: StreamSource,
        runtime: Invoker,
        dynamodb_endpoint: str,
        aws_endpoint: str | None,
        interval: float,
        stopped: threading.Event,
    ) -> None:
        self._source = source
        self._table = template.table_name(source.table)
        self._runtime = runtime
        self._dynamodb = aws_client("dynamodb", dynamodb_endpoint)
        self._streams = aws_client("dynamodbstreams", dynamodb_endpoint)
        self._sqs = aws_client("sqs", aws_endpoint) if aws_endpoint else None
        self._local_queues = {queue.arn: queue.url for queue in template.queues.values()}
        self._interval = interval
        self._stopped = stopped
        self._label = f"{source.function}.{source.name}"
        self._stream_arn = ""
        self._shards: dict[str, _Shard] = {}
        self._finished: set[str] = set()
        self._refreshed_at: float | None = None
        self._failing = False

    # ----------------------------------------------------------------------- the loop
    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                busy = self._cycle()
            except _NoStream as error:
                self._trouble(str(error))
                continue
            except (BotoCoreError, ClientError) as error:
                if _code(error) == "ResourceNotFoundException":
                    self._forget_stream()  # the table was made anew: its stream is another
                self._trouble(f"cannot read the stream of {self._table}: {error}")
                continue
            except Exception:  # a bug here must not end local mode's events silently
                if not self._failing:
                    log.exception("%s: reading the stream of %s failed", self._label, self._table)
                self._trouble("")
                continue
            if self._failing:
                log.info("%s: reading the stream of %s again", self._label, self._table)
                self._failing = False
            if not busy:
                self._stopped.wait(self._interval)

    def _cycle(self) -> bool:
        """Read and deliver what each shard has; True when there may be more right away."""
        if self._refreshed_at is None or time.monotonic() - self._refreshed_at >= SHARD_REFRESH_SECONDS:
            stream_arn = self._find_stream()
            if stream_arn != self._stream_arn:
                if self._stream_arn:
                    log.info("%s: table %s has a new stream: reading that one", self._label, self._table)
                self._forget_stream()
                self._stream_arn = stream_arn
            self._refresh_shards()
        busy = False
        for shard in self._ready_shards():
            busy |= self._read(shard)
            busy |= self._deliver_due(shard)
            if shard.ended and not shard.pending:
                del self._shards[shard.id]
                self._finished.add(shard.id)
                busy = True  # its children are ready now
            if self._stopped.is_set():
                break
        return busy

    def _forget_stream(self) -> None:
        self._stream_arn, self._refreshed_at = "", None
        self._shards.clear()
        self._finished.clear()

    def _trouble(self, message: str) -> None:
        """Say what is wrong (once per outage, not five times a second) and pause."""
        if message and not self._failing:
            log.warning("%s: %s", self._label, message)
        self._failing = True
        self._stopped.wait(TROUBLE_PAUSE_SECONDS)

    # ----------------------------------------------------------------------- reading
    def _find_stream(self) -> str:
        table = self._dynamodb.describe_table(TableName=self._table)["Table"]
        arn = table.get("LatestStreamArn") if (table.get("StreamSpecification") or {}).get("StreamEnabled") else None
        if not arn:
            raise _NoStream(f"table {self._table} has no stream")
        return str(arn)

    def _refresh_shards(self) -> None:
        """Learn the stream's shards. The ones there at the start begin at StartingPosition;
        shards that appear later hold only new records, read from their beginning."""
        first = self._refreshed_at is None
        arguments: dict[str, Any] = {"StreamArn": self._stream_arn}
        while True:
            description = self._streams.describe_stream(**arguments)["StreamDescription"]
            for shard in description.get("Shards") or []:
                shard_id = shard["ShardId"]
                if shard_id not in self._shards and shard_id not in self._finished:
                    start = self._source.starting_position if first else "TRIM_HORIZON"
                    self._shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"), start)
            if not description.get("LastEvaluatedShardId"):
                break
            arguments["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        self._refreshed_at = time.monotonic()

    def _ready_shards(self) -> list[_Shard]:
        # A parent that is no longer listed (trimmed) or read to its end holds nothing earlier.
        return [shard for shard in list(self._shards.values()) if shard.parent not in self._shards]

    def _read(self, shard: _Shard) -> bool:
        """One GetRecords on the shard, unless a full batch is waiting; True if it had records."""
        if shard.ended or len(shard.pending) >= self._source.batch_size:
            return False
        if shard.iterator is None:
            shard.iterator, shard.iterator_since = self._iterator(shard), time.monotonic()
        try:
            page = self._streams.get_records(ShardIterator=shard.iterator, Limit=MAX_RECORDS_PER_READ)
        except ClientError as error:
            code = _code(error)
            if code == "ExpiredIteratorException":  # iterators live 15 minutes
                shard.iterator = None
                return True
            if code == "TrimmedDataAccessException":
                log.warning("%s: records of shard %s expired before they were read", self._label, shard.id)
                shard.iterator, shard.last_read, shard.start = None, None, "TRIM_HORIZON"
                return True
            raise
        records = page.get("Records") or []
        following = page.get("NextShardIterator")
        if records:
            shard.iterator, shard.iterator_since = following, time.monotonic()
            shard.last_read = records[-1]["dynamodb"]["SequenceNumber"]
            self._take(shard, records)
        elif following is not None and time.monotonic() - shard.iterator_since >= ITERATOR_RENEW_SECONDS:
            # A moto server of its own (--dynamodb-endpoint; the embedded one has transactions.py)
            # replaces a table, stream included, with a copy when a transaction fails, and an
            # iterator of the old stream never sees another record: an idle shard is read with a
            # fresh iterator from time to time. Not on every empty read: moto keeps every
            # iterator it hands out, and five a second would grow a long-running serve without
            # bound. (Until then the iterator still points where the next record will be.)
            shard.iterator = None
        if following is None:
            shard.ended = True  # a closed shard, read to its end
        return bool(records)

    def _iterator(self, shard: _Shard) -> str:
        # A LATEST shard renewed before it had a record could miss one written in between the
        # last read and this call; TRIM_HORIZON (the template's) and shards with records cannot.
        position: dict[str, str] = {"ShardIteratorType": shard.start}
        if shard.last_read is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_read}
        response = self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard.id, **position)
        return str(response["ShardIterator"])

    def _take(self, shard: _Shard, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            event_record = lambda_record(record, self._stream_arn)
            if self._source.filters and not any(patterns.matches(p, event_record) for p in self._source.filters):
                continue  # Lambda drops what no filter matches, before batching
            if not shard.pending:
                shard.pending_since = time.monotonic()
            shard.pending.append(event_record)

    # ----------------------------------------------------------------------- delivering
    def _deliver_due(self, shard: _Shard) -> bool:
        """Deliver the next batch if it is full or has waited its window; True if it did."""
        if not shard.pending:
            return False
        full = len(shard.pending) >= self._source.batch_size
        waited = time.monotonic() - shard.pending_since >= self._source.batching_window_seconds
        if not (full or waited or shard.ended):
            return False
        batch = shard.pending[: self._source.batch_size]
        del shard.pending[: len(batch)]  # what stays has waited since pending_since, too
        self._deliver(shard, batch)
        return True

    def _deliver(self, shard: _Shard, batch: list[dict[str, Any]], retries: int = 0) -> None:
        """Invoke until the batch succeeds or its retries are spent: nothing later in the shard
        goes to the function before (Lambda's checkpoint)."""
        while (failure := self._invoke(batch)) is not None:
            if failure.raised and self._source.bisect_on_error and len(batch) > 1:
                # Lambda splits a batch the function failed on and tries each half, in order;
                # a split is not a retry.
                half = len(batch) // 2
                self._deliver(shard, batch[:half], retries)
                if not self._stopped.is_set():
                    self._deliver(shard, batch[half:], retries)
                return
            batch = batch[failure.index :]
            limit = self._source.maximum_retry_attempts
            if 0 <= limit <= retries:
                self._drop(shard, batch, attempts=retries + 1)
                return
            retries += 1
            pause = min(0.1 * 2 ** (retries - 1), MAX_RETRY_PAUSE_SECONDS)
            if self._stopped.wait(pause):
                log.warning("%s: stopping with %d stream records undelivered", self._label, len(batch))
                return
            log.info(
                "%s: retry %d%s from sequence number %s (%d records)",
                self._label,
                retries,
                f" of {limit}" if limit >= 0 else "",
                _sequence(batch[0]),
                len(batch),
            )

    def _invoke(self, batch: list[dict[str, Any]]) -> _Failure | None:
        """None when the batch succeeded, else where to retry from."""
        started = time.perf_counter()
        try:
            result = self._runtime.invoke(self._source.function, {"Records": batch})
        except Exception as error:
            # The function's traceback is in its container's log; this says what it means here.
            log.warning("%s failed on %d stream records: %s", self._label, len(batch), error or type(error).__name__)
            return _Failure(0, raised=True)
        failed = self._first_failure(result, batch) if self._source.report_batch_item_failures else None
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "stream %s %d records %.1fms%s",
            self._label,
            len(batch),
            elapsed,
            "" if failed is None else f" (failed from sequence number {_sequence(batch[failed])})",
        )
        return None if failed is None else _Failure(failed, raised=False)

    def _first_failure(self, result: Any, batch: list[dict[str, Any]]) -> int | None:
        """Lambda's reading of a partial batch response: the lowest failed record; a failure that
        names no record of the batch fails all of it."""
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return None
        positions = {_sequence(record): index for index, record in enumerate(batch)}
        indexes = []
        for failure in failures if isinstance(failures, list) else [failures]:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in positions:
                log.warning("%s: batchItemFailures names %r, no record of the batch: all failed", self._label, failure)
                return 0
            indexes.append(positions[identifier])
        return min(indexes)

    def _drop(self, shard: _Shard, records: list[dict[str, Any]], attempts: int) -> None:
        log.error(
            "%s: dropping %d stream records of shard %s after %d attempts (MaximumRetryAttempts %d):",
            self._label,
            len(records),
            shard.id,
            attempts,
            self._source.maximum_retry_attempts,
        )
        for record in records:
            keys = json.dumps(record["dynamodb"].get("Keys"), separators=(",", ":"))
            log.error("  dropped %s %s %s", _sequence(record), record["eventName"], keys)
        if self._source.on_failure:
            self._send_failure(shard, records, attempts)

    def _send_failure(self, shard: _Shard, records: list[dict[str, Any]], attempts: int) -> None:
        """What Lambda sends to a stream mapping's OnFailure destination: where the dropped
        records are, not the records themselves."""
        destination = self._source.on_failure or ""
        queue_url = self._local_queues.get(destination)
        if queue_url is None or self._sqs is None:
            log.warning("%s: OnFailure %s is not a queue of the template: nothing sent", self._label, destination)
            return
        arrivals = [_instant(record["dynamodb"].get("ApproximateCreationDateTime")) for record in records]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self._source.function}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": _instant(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard.id,
                "startSequenceNumber": _sequence(records[0]),
                "endSequenceNumber": _sequence(records[-1]),
                "approximateArrivalOfFirstRecord": arrivals[0],
                "approximateArrivalOfLastRecord": arrivals[-1],
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        try:
            self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
        except (BotoCoreError, ClientError) as error:
            log.warning("%s: cannot send to OnFailure %s: %s", self._label, destination, error)


# --------------------------------------------------------------------------- the event
def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to the function (JSON: numbers of seconds, binary
    values in base64)."""
    change = record["dynamodb"]
    created = change.get("ApproximateCreationDateTime")
    stream: dict[str, Any] = {}
    if created is not None:
        stream["ApproximateCreationDateTime"] = int(created.timestamp()) if isinstance(created, datetime) else created
    for name in ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
        if name in change:
            stream[name] = _json_ready(change[name])
    converted = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or REGION,
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # deletions by TTL
        converted["userIdentity"] = record["userIdentity"]
    return converted


def _json_ready(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {name: _json_ready(item) for name, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_ready(item) for item in value]
    return value


def _code(error: Exception) -> str | None:
    return error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _instant(seconds: Any) -> str | None:
    with contextlib.suppress(TypeError, ValueError, OverflowError):
        return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return None

"""DynamoDB stream event sources against a small template of their own, in this process: the
embedded server's table stream, a function that records what it receives, and the failures it
is told to report or raise. Also the event patterns their FilterCriteria use."""

from __future__ import annotations

import json
import logging
import os
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from approvals_local import patterns, streams
from approvals_local.dynamo import EmbeddedAws, ensure_tables
from approvals_local.events import ensure_event_resources
from approvals_local.functions import FunctionRuntime
from approvals_local.streams import StreamSources
from approvals_local.template import Template, TemplateError, load_template

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DEADLINE_SECONDS = 10

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Tick: {{Type: String, Default: rate(2 hours)}}
Resources:
  Things{suffix}Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {{StreamViewType: NEW_AND_OLD_IMAGES}}
      AttributeDefinitions: [{{AttributeName: PK, AttributeType: S}}]
      KeySchema: [{{AttributeName: PK, KeyType: HASH}}]
  Failed{suffix}Queue:
    Type: AWS::SQS::Queue
  Bus{suffix}:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${{AWS::StackName}}-things-{suffix}"
  RecordFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: record.handler
      Environment:
        Variables:
          BUS: !Ref Bus{suffix}
          BUS_ARN: !GetAtt Bus{suffix}.Arn
          QUEUE_URL: !Ref Failed{suffix}Queue
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Things{suffix}Table.StreamArn
            StartingPosition: {position}
            BatchSize: 3
            MaximumRetryAttempts: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt Failed{suffix}Queue.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{{"dynamodb": {{"Keys": {{"PK": {{"S": [{{"prefix": "keep"}}]}}}}}}}}'
                - Pattern: '{{"eventName": ["REMOVE"]}}'
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: record.handler
      Events:
        Tick:
          Type: Schedule
          Properties: {{Schedule: !Ref Tick}}
"""

# Records every call; a record whose new image says fail=N (raise=N) is reported failed (makes
# the function raise) on its first N deliveries.
RECORD = """\
import json, os

CALLS = os.path.join(os.path.dirname(__file__), "calls.jsonl")

def handler(event, context):
    seen = {}
    if os.path.exists(CALLS):
        for line in open(CALLS):
            for record in json.loads(line)["Records"]:
                seen[record["eventID"]] = seen.get(record["eventID"], 0) + 1
    with open(CALLS, "a") as calls:
        calls.write(json.dumps(event) + "\\n")
    failures = []
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage", {})
        delivered = seen.get(record["eventID"], 0)
        if delivered < int(image.get("raise", {}).get("N", "0")):
            raise RuntimeError("told to raise")
        if delivered < int(image.get("fail", {}).get("N", "0")):
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
"""


@dataclass
class Stack:
    template: Template
    endpoint: str
    table: str
    calls_file: Path
    sources: StreamSources | None = None

    @property
    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", endpoint_url=self.endpoint, region_name="us-east-1")

    def put(self, key: str, **numbers: int) -> None:
        item = {"PK": {"S": key}, **{name: {"N": str(value)} for name, value in numbers.items()}}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def delete(self, key: str) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={"PK": {"S": key}})

    def start(self) -> None:
        runtime = FunctionRuntime(self.template, self.endpoint, self.endpoint)
        self.sources = StreamSources(self.template, runtime, self.endpoint, self.endpoint, interval=0.05)
        self.sources.start()

    def calls(self) -> list[list[dict[str, Any]]]:
        if not self.calls_file.exists():
            return []
        return [json.loads(line)["Records"] for line in self.calls_file.read_text().splitlines()]

    def deliveries(self) -> list[list[str]]:
        """Each call as the keys of its records."""
        return [[record["dynamodb"]["Keys"]["PK"]["S"] for record in call] for call in self.calls()]

    def wait_for(self, done: Callable[[list[list[str]]], bool]) -> list[list[str]]:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not done(self.deliveries()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.deliveries()


@pytest.fixture(scope="module")
def aws() -> Iterator[str]:
    with EmbeddedAws() as server:
        yield server.endpoint


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The runtime sets the functions' environment in os.environ: give it back afterwards."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def make_stack(tmp_path: Path, endpoint: str, position: str = "TRIM_HORIZON", bisect: bool = False) -> Stack:
    suffix = uuid.uuid4().hex[:8]  # the embedded server's tables outlive a test
    text = TEMPLATE.format(suffix=suffix, position=position)
    if bisect:
        text = text.replace(
            "MaximumRetryAttempts: 2\n", "MaximumRetryAttempts: 2\n            BisectBatchOnFunctionError: true\n"
        )
    (tmp_path / "template.yaml").write_text(text)
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "record.py").write_text(textwrap.dedent(RECORD))
    template = load_template(tmp_path / "template.yaml")
    ensure_tables(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"), template)
    ensure_event_resources(endpoint, template)
    return Stack(template, endpoint, f"Things{suffix}Table", tmp_path / "fn" / "calls.jsonl")


@pytest.fixture
def stack(tmp_path: Path, aws: str, environment: None) -> Iterator[Stack]:
    made = make_stack(tmp_path, aws)
    yield made
    if made.sources is not None:
        made.sources.stop()


# --------------------------------------------------------------------------- the template
def test_the_template_describes_the_stream_event_source(stack: Stack) -> None:
    (source,) = stack.template.functions["RecordFunction"].streams
    assert source.table == stack.table
    assert (source.starting_position, source.batch_size, source.maximum_retry_attempts) == ("TRIM_HORIZON", 3, 2)
    assert source.batching_window_seconds == 0
    assert source.report_batch_item_failures is True
    assert source.filters == (
        {"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "keep"}]}}}},
        {"eventName": ["REMOVE"]},
    )
    (queue,) = stack.template.queues.values()
    assert source.on_failure == queue.arn == f"arn:aws:sqs:us-east-1:123456789012:{queue.logical_id}"
    (bus,) = stack.template.buses.values()
    environment = stack.template.functions["RecordFunction"].environment
    assert environment["BUS"] == bus.name == f"approvals-local-things-{bus.logical_id.removeprefix('Bus')}"
    assert environment["BUS_ARN"] == f"arn:aws:events:us-east-1:123456789012:event-bus/{bus.name}"
    assert environment["QUEUE_URL"].endswith(f"/123456789012/{queue.name}")
    assert stack.template.functions["TickFunction"].schedules[0].expression == "rate(2 hours)"
    assert stack.template.tables[stack.table]["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("StartingPosition: TRIM_HORIZON", "StartingPosition: AT_TIMESTAMP", "StartingPosition"),
        ("""["REMOVE"]}'""", """["REMOVE"]'""", "FilterCriteria"),
        ('"eventName": ["REMOVE"]', '"eventName": [{"cidr": "10.0.0.0/8"}]', "cidr"),
        ("Stream: !GetAtt Things", "Stream: !GetAtt Nothing", "stream"),
    ],
)
def test_a_stream_event_local_mode_cannot_run_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = TEMPLATE.format(suffix="x", position="TRIM_HORIZON")
    assert old in text
    (tmp_path / "template.yaml").write_text(text.replace(old, new))
    with pytest.raises(TemplateError, match=message):
        load_template(tmp_path / "template.yaml")


# --------------------------------------------------------------------------- delivery
def test_records_arrive_in_order_filtered_batched_in_lambdas_format(stack: Stack) -> None:
    for key in ("keep-1", "skip-1", "keep-2", "keep-3", "keep-4"):
        stack.put(key)
    stack.put("keep-1", n=2)
    stack.delete("skip-1")  # REMOVE passes the second filter
    stack.start()

    deliveries = stack.wait_for(lambda calls: sum(map(len, calls)) >= 6)

    assert deliveries == [["keep-1", "keep-2", "keep-3"], ["keep-4", "keep-1", "skip-1"]]
    records = [record for call in stack.calls() for record in call]
    assert [record["eventName"] for record in records] == ["INSERT"] * 4 + ["MODIFY", "REMOVE"]
    sequence_numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    assert sequence_numbers == sorted(sequence_numbers)
    stream_arn = stack.dynamodb.describe_table(TableName=stack.table)["Table"]["LatestStreamArn"]
    modify = records[4]
    assert list(modify) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert (modify["eventVersion"], modify["eventSource"], modify["awsRegion"]) == ("1.1", "aws:dynamodb", "us-east-1")
    assert modify["eventSourceARN"] == stream_arn
    change = modify["dynamodb"]
    assert isinstance(change["ApproximateCreationDateTime"], int)
    assert abs(change["ApproximateCreationDateTime"] - time.time()) < 60
    assert change["Keys"] == {"PK": {"S": "keep-1"}}
    assert change["NewImage"] == {"PK": {"S": "keep-1"}, "n": {"N": "2"}}
    assert change["OldImage"] == {"PK": {"S": "keep-1"}}
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(change["SizeBytes"], int)
    assert "NewImage" not in records[5]["dynamodb"]


def test_records_written_while_it_runs_arrive_too(stack: Stack) -> None:
    stack.start()
    stack.put("keep-late")
    assert stack.wait_for(lambda calls: bool(calls)) == [["keep-late"]]


def test_records_after_a_failed_transaction_arrive_too(stack: Stack) -> None:
    stack.start()
    stack.put("keep-before")
    stack.wait_for(bool)
    with pytest.raises(stack.dynamodb.exceptions.TransactionCanceledException):
        stack.dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": stack.table, "Item": {"PK": {"S": "keep-never"}}}},
                {
                    "ConditionCheck": {
                        "TableName": stack.table,
                        "Key": {"PK": {"S": "keep-before"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    stack.put("keep-after")
    assert stack.wait_for(lambda calls: len(calls) >= 2) == [["keep-before"], ["keep-after"]]


def test_a_table_made_anew_is_followed_to_its_new_stream(stack: Stack) -> None:
    stack.start()
    stack.put("keep-1")
    stack.wait_for(bool)
    stack.dynamodb.delete_table(TableName=stack.table)
    ensure_tables(stack.dynamodb, stack.template)
    stack.put("keep-2")
    assert stack.wait_for(lambda calls: len(calls) >= 2) == [["keep-1"], ["keep-2"]]


def test_latest_skips_what_the_stream_held_before(tmp_path: Path, aws: str, environment: None) -> None:
    stack = make_stack(tmp_path, aws, position="LATEST")
    stack.put("keep-before")
    stack.start()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not stack.deliveries() and time.monotonic() < deadline:
            stack.put("keep-after")  # until the mapping has taken its position, LATEST skips these too
            time.sleep(0.2)
        assert stack.deliveries()
        assert "keep-before" not in {key for call in stack.deliveries() for key in call}
    finally:
        assert stack.sources is not None
        stack.sources.stop()


def test_a_reported_failure_is_retried_from_that_record_on(stack: Stack) -> None:
    stack.put("keep-a")
    stack.put("keep-b", fail=1)
    stack.put("keep-c")
    stack.put("keep-d")
    stack.start()

    deliveries = stack.wait_for(lambda calls: "keep-d" in {key for call in calls for key in call})

    assert deliveries == [["keep-a", "keep-b", "keep-c"], ["keep-b", "keep-c"], ["keep-d"]]


def test_a_function_that_raises_gets_the_whole_batch_again(stack: Stack) -> None:
    stack.put("keep-a")
    stack.put("keep-b", **{"raise": 2})
    stack.start()

    deliveries = stack.wait_for(lambda calls: len(calls) >= 3)

    assert deliveries == [["keep-a", "keep-b"]] * 3


def test_with_bisect_a_batch_the_function_raised_on_is_tried_in_halves(
    tmp_path: Path, aws: str, environment: None
) -> None:
    stack = make_stack(tmp_path, aws, bisect=True)
    assert stack.template.functions["RecordFunction"].streams[0].bisect_on_error is True
    stack.put("keep-a")
    stack.put("keep-b", **{"raise": 2})
    stack.put("keep-c")
    stack.start()
    try:
        deliveries = stack.wait_for(lambda calls: "keep-c" in calls[-1] if len(calls) >= 5 else False)
    finally:
        assert stack.sources is not None
        stack.sources.stop()
    # [a] passes; [b, c] raises again (b's second delivery) and is halved: [b], then [c] pass.
    assert deliveries == [["keep-a", "keep-b", "keep-c"], ["keep-a"], ["keep-b", "keep-c"], ["keep-b"], ["keep-c"]]


def test_records_that_keep_failing_are_dropped_logged_and_sent_to_on_failure(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    stack.put("keep-a", fail=99)
    stack.put("keep-b")
    with caplog.at_level(logging.INFO, logger="approvals_local"):
        stack.start()
        stack.wait_for(bool)
        stack.put("keep-c")  # after the failing batch
        deliveries = stack.wait_for(lambda calls: "keep-c" in {key for call in calls for key in call})

    # The first attempt and MaximumRetryAttempts (2) retries, then on to what follows.
    assert deliveries == [["keep-a", "keep-b"]] * 3 + [["keep-c"]]
    assert "dropping 2 stream records" in caplog.text
    first, second = stack.calls()[0]
    assert f"dropped {first['dynamodb']['SequenceNumber']} INSERT" in caplog.text
    (queue,) = stack.template.queues.values()
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
    (failure,) = [json.loads(message["Body"]) for message in messages]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == first["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == second["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == first["eventSourceARN"]


# --------------------------------------------------------------------------- shards
class FakeStreams:
    """A stream whose first shard has closed and split: the child is listed first."""

    def __init__(self) -> None:
        self.shards = {
            "child": {"parent": "parent", "records": [_record("3")], "closed": False},
            "parent": {"parent": None, "records": [_record("1"), _record("2")], "closed": True},
        }

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"StreamSpecification": {"StreamEnabled": True}, "LatestStreamArn": "arn:stream"}}

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        shards = [{"ShardId": shard_id, "ParentShardId": shard["parent"]} for shard_id, shard in self.shards.items()]
        return {"StreamDescription": {"Shards": [{k: v for k, v in s.items() if v} for s in shards]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> dict[str, Any]:
        assert ShardIteratorType == "TRIM_HORIZON"
        return {"ShardIterator": f"{ShardId}:0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split(":")
        shard = self.shards[shard_id]
        records = shard["records"][int(position) :][:1]  # one record per call: many reads
        following = f"{shard_id}:{int(position) + len(records)}"
        done = shard["closed"] and int(position) + len(records) >= len(shard["records"])
        return {"Records": records, **({} if done else {"NextShardIterator": following})}


def _record(sequence: str) -> dict[str, Any]:
    return {
        "eventID": sequence,
        "eventName": "INSERT",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"PK": {"S": f"keep-{sequence}"}}, "SequenceNumber": sequence, "SizeBytes": 1},
    }


def test_a_child_shard_is_read_after_its_parent(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeStreams()
    monkeypatch.setattr(streams, "aws_client", lambda service, endpoint: fake)
    stack.start()
    deliveries = stack.wait_for(lambda calls: sum(map(len, calls)) >= 3)
    assert [key for call in deliveries for key in call] == ["keep-1", "keep-2", "keep-3"]


# --------------------------------------------------------------------------- patterns
@pytest.mark.parametrize(
    ("pattern", "document", "expected"),
    [
        ({"a": ["x"]}, {"a": "x", "b": 1}, True),
        ({"a": ["x"]}, {"a": "y"}, False),
        ({"a": ["x"]}, {}, False),
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x"]}, {"a": ["z", "x"]}, True),
        ({"a": {"b": {"S": ["APPROVAL"]}}}, {"a": {"b": {"S": "APPROVAL"}}}, True),
        ({"a": {"b": {"S": ["APPROVAL"]}}}, {"a": {"b": {"S": "LOCK"}}}, False),
        ({"a": {"b": ["x"]}}, {"a": "not an object"}, False),
        ({"a": [5]}, {"a": 5.0}, True),
        ({"a": [True]}, {"a": 1}, False),
        ({"a": [None]}, {"a": None}, True),
        ({"a": [{"prefix": "ke"}]}, {"a": "keep"}, True),
        ({"a": [{"prefix": ""}]}, {"a": "anything"}, True),
        ({"a": [{"suffix": "ep"}]}, {"a": "keep"}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "z"}, True),
        ({"a": [{"anything-but": "x"}]}, {"a": "x"}, False),
        ({"a": [{"anything-but": {"prefix": "k"}}]}, {"a": "keep"}, False),
        ({"a": [{"exists": True}]}, {"a": 0}, True),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": False}]}, {"a": 1}, False),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 6}, False),
        ({"a": [{"numeric": [">", 0]}]}, {"a": "1"}, False),
        ({"a": [{"equals-ignore-case": "KeEp"}]}, {"a": "keep"}, True),
        ({"a": [{"wildcard": "k*p.?"}]}, {"a": "keep.?"}, True),
        ({"a": [{"wildcard": "k*p.?"}]}, {"a": "keep.x"}, False),
        ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),
    ],
)
def test_event_patterns(pattern: dict[str, Any], document: Any, expected: bool) -> None:
    patterns.check(pattern)
    assert patterns.matches(pattern, document) is expected


@pytest.mark.parametrize(
    "pattern",
    [{}, [], {"a": "x"}, {"a": []}, {"a": [[1]]}, {"a": [{"cidr": "10.0.0.0/8"}]}, {"a": [{"numeric": ["~", 1]}]}],
)
def test_patterns_local_mode_cannot_match_are_refused(pattern: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        patterns.check(pattern)

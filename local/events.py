"""The template's event buses and queues, run by the embedded AWS server, and what is published on
the buses made visible: each event as one line on serve's stdout, or in a file.

EventBridge delivers to targets, so local mode watches a bus the way one would in AWS: a rule on
the bus that matches every event, targeting a queue of its own, which a thread here drains.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .template import ACCOUNT_ID, REGION, Template

log = logging.getLogger("approvals_local")

WATCH = "approvals-local-watch"  # the rule's name on every bus, and the prefix of its queue's name
# Every event has a source, and every text starts with "": EventBridge's way to match them all.
CATCH_ALL = {"source": [{"prefix": ""}]}
POLL_SECONDS = 0.2
# The fields of an EventBridge event, in the order EventBridge writes them.
EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")

Sink = Callable[[dict[str, Any]], None]

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


def aws_client(service: str, endpoint: str) -> Any:
    """A boto3 client of the embedded server (no stubs for every service: typed as Any)."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=_CLIENT_CONFIG)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Watch:
    bus: str
    queue_url: str


def ensure_event_resources(endpoint: str, template: Template) -> list[Watch]:
    """Create the template's queues and buses, and a catch-all rule on each bus whose target is a
    queue local mode reads; returns those watches. Creating what exists is harmless."""
    sqs, events = aws_client("sqs", endpoint), aws_client("events", endpoint)
    for queue in template.queues.values():
        _create_queue(sqs, queue.name)
    watches = []
    for bus in template.buses.values():
        with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
            events.create_event_bus(Name=bus.name)
        queue_url = _create_queue(sqs, f"{WATCH}-{re.sub(r'[^A-Za-z0-9_-]', '-', bus.name)}"[:80])
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=WATCH, EventBusName=bus.name, EventPattern=json.dumps(CATCH_ALL), State="ENABLED")
        events.put_targets(Rule=WATCH, EventBusName=bus.name, Targets=[{"Id": WATCH, "Arn": queue_arn}])
        watches.append(Watch(bus.name, queue_url))
    return watches


def _create_queue(sqs: Any, name: str) -> str:
    attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


class EventWatcher:
    """Hands every event published on the watched buses to ``sink``, in the order published."""

    def __init__(self, endpoint: str, watches: Iterable[Watch], sink: Sink, interval: float = POLL_SECONDS) -> None:
        self._sqs = aws_client("sqs", endpoint)
        self._watches = list(watches)
        self._sink = sink
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="approvals-local-events", daemon=True)
        self._failing = False

    def start(self) -> None:
        if self._watches:
            self._thread.start()

    def stop(self) -> None:
        """Stop watching, after showing what was published until now."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
            self._drain_logging_errors()

    def drain(self) -> int:
        """Hand over every event waiting now; returns how many."""
        count = 0
        for watch in self._watches:
            while True:
                # No long polling: the embedded server answers one request at a time, and a
                # request that waits would hold up the functions' requests.
                response = self._sqs.receive_message(QueueUrl=watch.queue_url, MaxNumberOfMessages=10)
                messages = response.get("Messages") or []
                if not messages:
                    break
                for message in messages:
                    self._sink(published_event(message["Body"]))
                self._sqs.delete_message_batch(
                    QueueUrl=watch.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(messages)
                    ],
                )
                count += len(messages)
        return count

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self._drain_logging_errors()

    def _drain_logging_errors(self) -> None:
        try:
            self.drain()
        except (BotoCoreError, ClientError, ValueError, OSError) as error:
            if not self._failing:  # once, not five times a second
                log.warning("cannot show the published events: %s", error)
            self._failing = True
        else:
            self._failing = False


def published_event(body: str) -> dict[str, Any]:
    """The event as EventBridge hands it to a target (moto leaves out the account)."""
    event = {"account": ACCOUNT_ID, **json.loads(body)}
    return {**{name: event[name] for name in EVENT_FIELDS if name in event}, **event}


def line_sink(output: TextIO, prefix: str = "") -> Sink:
    """Each event as one line of JSON (after ``prefix``), flushed at once so it can be watched."""
    lock = threading.Lock()

    def write(event: dict[str, Any]) -> None:
        with lock:
            output.write(f"{prefix}{json.dumps(event)}\n")
            output.flush()

    return write

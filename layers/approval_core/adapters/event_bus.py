"""EventPublisher on Amazon EventBridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from approval_core.domain.events import ApprovalEvent
from approval_core.json_text import dumps

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, event: ApprovalEvent) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus,
                    "Source": event.source,
                    "DetailType": event.detail_type,
                    "Detail": dumps(event.detail),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            failure = response["Entries"][0]
            raise EventNotPublished(f"{failure.get('ErrorCode')}: {failure.get('ErrorMessage')}")


class EventNotPublished(Exception):
    """EventBridge refused the event; the stream record is retried."""

"""Builds the service with its DynamoDB adapters once per container (functions call this at
import time, outside the handler, so clients are reused across invocations).

Each factory imports what it builds: a function loads its own adapters and use cases only (the
directory feed, the event bus and the approval service are separate cold starts)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from approval_core.api.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from approval_core.adapters.event_bus import EventBridgePublisher
    from approval_core.directory_feed import DirectoryFeed
    from approval_core.policy_service import PolicyService
    from approval_core.service import ApprovalService


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    from approval_core.adapters.dynamodb import make_client

    return make_client(settings().dynamodb_endpoint)


@lru_cache(maxsize=1)
def event_publisher() -> EventBridgePublisher:
    import boto3

    from approval_core.adapters.dynamodb import CLIENT_CONFIG
    from approval_core.adapters.event_bus import EventBridgePublisher

    bus = settings().event_bus_name
    if not bus:
        raise RuntimeError("EVENT_BUS_NAME is not set: the event publisher has no bus to publish to")
    return EventBridgePublisher(boto3.client("events", config=CLIENT_CONFIG), bus)


@lru_cache(maxsize=1)
def approval_service() -> ApprovalService:
    from approval_core.adapters.approval_store import DynamoApprovalStore
    from approval_core.adapters.directory import DynamoDirectory
    from approval_core.adapters.policy_store import DynamoPolicyStore
    from approval_core.adapters.reads import DynamoReads
    from approval_core.service import ApprovalService

    config = settings()
    client = dynamodb_client()
    directory = DynamoDirectory(client, config.directory_table_name)
    return ApprovalService(
        store=DynamoApprovalStore(client, config.approvals_table_name),
        directory=directory,
        carts=directory,
        reads=DynamoReads(client, config.directory_table_name, config.approvals_table_name),
        expiry_seconds=config.approval_expiry_seconds,
        policies=DynamoPolicyStore(client, config.directory_table_name),
    )


@lru_cache(maxsize=1)
def directory_feed() -> DirectoryFeed:
    from approval_core.adapters.directory import DynamoDirectoryWriter
    from approval_core.directory_feed import DirectoryFeed

    return DirectoryFeed(DynamoDirectoryWriter(dynamodb_client(), settings().directory_table_name))


@lru_cache(maxsize=1)
def policy_service() -> PolicyService:
    from approval_core.adapters.directory import DynamoDirectory
    from approval_core.adapters.policy_store import DynamoPolicyStore
    from approval_core.policy_service import PolicyService

    config = settings()
    client = dynamodb_client()
    return PolicyService(
        policies=DynamoPolicyStore(client, config.directory_table_name),
        directory=DynamoDirectory(client, config.directory_table_name),
    )

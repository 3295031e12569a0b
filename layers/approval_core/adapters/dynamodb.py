"""What every DynamoDB adapter shares: the client, and the conversion between Python values and
DynamoDB's typed attribute values (numbers stay ``Decimal`` both ways)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

from approval_core.domain.errors import ServiceBusy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Standard retry mode retries throttling, 5xx and timeouts with jittered exponential backoff.
# Three attempts of at most 1 s to connect and 2 s to answer, plus at most 3 s of backoff, stay
# inside the functions' 10 s timeout: a request that cannot be served answers 503 in time.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=2,
)


# BatchGetItem answers with UnprocessedKeys when a partition is throttled: retried with jittered
# backoff (as the AWS SDKs advise), a few times, then the read fails as a throttled request would.
UNPROCESSED_ATTEMPTS = 5
UNPROCESSED_BASE_DELAY_S = 0.02


def make_client(endpoint_url: str | None = None, region_name: str | None = None) -> DynamoDBClient:
    return boto3.client("dynamodb", endpoint_url=endpoint_url or None, region_name=region_name, config=CLIENT_CONFIG)


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def query_pages(client: DynamoDBClient, query: dict[str, Any]) -> Iterator[Any]:
    """Every page of a Query, read as the caller consumes them."""
    query = dict(query)
    while True:
        page = client.query(**query)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def batch_get(client: DynamoDBClient, request: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, item) for each item a BatchGetItem of ``request`` (its ``RequestItems``) finds,
    retrying the keys DynamoDB leaves unprocessed; ServiceBusy when they stay unprocessed."""
    for attempt in range(UNPROCESSED_ATTEMPTS):
        if not request:
            return
        if attempt:
            time.sleep(random.uniform(0, UNPROCESSED_BASE_DELAY_S * 2**attempt))  # noqa: S311 (jitter)
        response = client.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            for item in items:
                yield table, from_item(item)
        request = response.get("UnprocessedKeys") or {}
    if request:
        raise ServiceBusy("DynamoDB is throttling reads; retry shortly")

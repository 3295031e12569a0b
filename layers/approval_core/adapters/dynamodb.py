"""What every DynamoDB adapter shares: the client, and the conversion between Python values and
DynamoDB's typed attribute values (numbers stay ``Decimal`` both ways)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Standard retry mode backs off on throttling and 5xx; the timeouts keep a request well inside the
# API Gateway's 30 s and the function's own timeout.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
)


def make_client(endpoint_url: str | None = None, region_name: str | None = None) -> DynamoDBClient:
    return boto3.client("dynamodb", endpoint_url=endpoint_url or None, region_name=region_name, config=CLIENT_CONFIG)


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}

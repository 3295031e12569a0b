"""The store: moto's DynamoDB server in this process, or one the caller names (DynamoDB Local, a
moto server, ...). Either way the template's tables exist before anything uses them."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from .template import REGION, Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger("approvals_local")


class StoreError(Exception):
    pass


class EmbeddedDynamoDB:
    """moto's server on 127.0.0.1 and a free port, for the life of the ``with`` block."""

    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None

    def __enter__(self) -> EmbeddedDynamoDB:
        from moto.server import ThreadedMotoServer  # slow to import: only when it is used

        # moto's werkzeug logs every request at INFO: the console is for local mode's own lines.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def use_test_credentials() -> None:
    """boto3 signs every request: outside AWS, dummy credentials do (moto and DynamoDB Local
    accept any)."""
    if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = REGION


def ensure_tables(client: DynamoDBClient, template: Template) -> list[str]:
    """Create the template's tables that are missing and wait until they are ACTIVE; returns the
    names created."""
    try:
        existing = {name for page in client.get_paginator("list_tables").paginate() for name in page["TableNames"]}
    except Exception as error:
        raise StoreError(f"cannot reach DynamoDB at {client.meta.endpoint_url}: {error}") from None
    created = []
    for logical_id, definition in template.tables.items():
        name = template.table_name(logical_id)
        if name in existing:
            continue
        try:
            client.create_table(TableName=name, **definition)
            created.append(name)
        except client.exceptions.ResourceInUseException:
            pass  # another process created it meanwhile
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return created

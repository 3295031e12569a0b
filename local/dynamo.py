"""The store: moto's DynamoDB server in this process, or one the caller names (DynamoDB Local, a
moto server, ...). Either way the template's tables exist before anything uses them.

The embedded moto server answers for every AWS service moto has: local mode also runs the
template's event buses and queues there (events.py), whichever DynamoDB it uses.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .template import REGION, Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger("approvals_local")


class StoreError(Exception):
    pass


class EmbeddedAws:
    """moto's server (DynamoDB, EventBridge, SQS, ...) on 127.0.0.1 and a free port, for the life
    of the ``with`` block.

    DynamoDB applies each request atomically: a transaction's conditions and writes, a
    conditional update's check and write. moto's server does not lock, so two concurrent
    transactions could both pass their conditions. It answers one request at a time here, which
    restores the guarantee the service's conditional writes rely on.
    """

    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EmbeddedAws:
        # moto is slow to import: only when the embedded engine is used.
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from .transactions import install as per_item_transactions

        # moto's own transactions copy every table they touch and, when one fails, put the copies
        # back: slow on a big table, and the table's stream shows the rolled-back writes while
        # readers of the replaced stream see nothing more (streams.py).
        per_item_transactions()
        # moto's werkzeug logs every request at INFO: the console is for local mode's own lines.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.endpoint = f"http://{host}:{port}"
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# The name the integration tests (and earlier code) know it by.
EmbeddedDynamoDB = EmbeddedAws


class _OneRequestAtATime:
    """WSGI middleware: the wrapped application serves one request at a time, body included."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


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
            _ensure_stream(client, name, definition.get("StreamSpecification"))
            continue
        try:
            client.create_table(TableName=name, **definition)
            created.append(name)
        except client.exceptions.ResourceInUseException:
            pass  # another process created it meanwhile
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return created


def _ensure_stream(client: DynamoDBClient, name: str, wanted: dict[str, Any] | None) -> None:
    """A table made before the template gave it a stream (in a DynamoDB Local that outlives serve)
    gets one: without it, the functions on that stream would never run."""
    if not wanted:
        return
    current: dict[str, Any] = dict(client.describe_table(TableName=name)["Table"].get("StreamSpecification") or {})
    if current.get("StreamEnabled"):
        if current.get("StreamViewType") != wanted["StreamViewType"]:
            log.warning(
                "table %s streams %s, the template says %s: delete the table to get the template's",
                name,
                current.get("StreamViewType"),
                wanted["StreamViewType"],
            )
        return
    client.update_table(TableName=name, StreamSpecification=wanted)  # type: ignore[arg-type]
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    log.info("enabled the stream of table %s", name)

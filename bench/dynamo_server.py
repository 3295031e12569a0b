"""The DynamoDB server the benchmarks measure against: local mode's embedded engine (moto's
server with per-item transactions) in a process of its own, so that the server's work never
competes with the measured code for this process's interpreter lock.

``python -m bench.dynamo_server`` prints ``endpoint URL``, then answers commands on stdin until
it closes: ``load TABLE TENANT TOTAL OVERDUE SIZES`` puts ``bench.world.bulk_approvals`` into a
table with ``DynamoApprovalStore.load`` (the same items), its batches handed to moto's backend
in this process rather than sent over HTTP: 100,000 approvals are 16,000 BatchWriteItem
requests, minutes of HTTP and JSON that measure nothing.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from bench.local_mode import account_and_region, embedded_aws
from bench.world import bulk_approvals

CHUNK = 10_000


class DynamoServer:
    """``with DynamoServer() as server:`` a server process for the life of the block."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def __enter__(self) -> DynamoServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.dynamo_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._reply()
        if not line.startswith("endpoint "):
            self._process.kill()
            raise RuntimeError(f"the DynamoDB server did not start: {line!r}")
        self.endpoint = line.split(" ", 1)[1].strip()
        return self

    def load(self, table: str, tenant: str, total: int, overdue: int, list_sizes: tuple[int, ...]) -> None:
        """Bulk approvals into ``table``, in the server's process; progress on stderr."""
        assert self._process is not None
        assert self._process.stdin is not None
        sizes = ",".join(str(size) for size in list_sizes) or "-"
        self._process.stdin.write(f"load {table} {tenant} {total} {overdue} {sizes}\n")
        self._process.stdin.flush()
        while (line := self._reply()).startswith("loaded "):
            print(f"  {line.strip()}", file=sys.stderr, flush=True)
        if not line.startswith("done"):
            raise RuntimeError(f"the DynamoDB server could not load the approvals: {line!r}")

    def _reply(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        return self._process.stdout.readline()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class _Backend:
    """The one client method ``DynamoApprovalStore.load`` uses, on moto's backend directly."""

    def __init__(self) -> None:
        from moto.dynamodb.models import dynamodb_backends

        account, region = account_and_region()
        self.backend = dynamodb_backends[account][region]

    def batch_write_item(self, RequestItems: Mapping[str, Any]) -> dict[str, Any]:
        for table, requests in RequestItems.items():
            for request in requests:
                self.backend.put_item(table, request["PutRequest"]["Item"])
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        """The counts ``load`` adds (``ADD #name :value, ...``), read, added and put back."""
        assert request["UpdateExpression"].startswith("ADD ")
        stored = self.backend.get_item(request["TableName"], request["Key"])
        item = dict(stored.to_json()["Attributes"]) if stored is not None else dict(request["Key"])
        for term in request["UpdateExpression"][4:].split(","):
            name, value = term.split()
            attribute = request["ExpressionAttributeNames"][name]
            old = int(item.get(attribute, {"N": "0"})["N"])
            item[attribute] = {"N": str(old + int(request["ExpressionAttributeValues"][value]["N"]))}
        self.backend.put_item(request["TableName"], item)
        return {}


def _load(table: str, tenant: str, total: int, overdue: int, sizes: str) -> None:
    from approval_core.adapters.approval_store import DynamoApprovalStore

    list_sizes = () if sizes == "-" else tuple(int(size) for size in sizes.split(","))
    approvals, _ = bulk_approvals(total, overdue, list_sizes)
    store = DynamoApprovalStore(_Backend(), table)  # type: ignore[arg-type]
    started = time.monotonic()
    with _without_item_size_check(), _without_stream(table):
        for start in range(0, total, CHUNK):
            store.load(tenant, approvals[start : start + CHUNK])
            done = min(total, start + CHUNK)
            print(f"loaded {done:,} of {total:,} approvals ({time.monotonic() - started:.0f} s)", flush=True)


@contextlib.contextmanager
def _without_stream(table: str) -> Iterator[None]:
    """A third of the rest is the table's stream records of the loaded items, which no one
    reads here (the benchmark runs no stream consumer)."""
    backend = _Backend().backend
    shard = backend.get_table(table).stream_shard
    backend.get_table(table).stream_shard = None
    try:
        yield
    finally:
        backend.get_table(table).stream_shard = shard


@contextlib.contextmanager
def _without_item_size_check() -> Iterator[None]:
    """moto checks an item's 400 KB limit by summing its size again for every attribute it sets,
    two thirds of a bulk load's time; these items are a few KB. The measured requests, after the
    load, are checked as usual."""
    from moto.dynamodb.models import dynamo_type

    limited = dynamo_type.LimitedSizeDict
    checked = limited.__setitem__
    limited.__setitem__ = dict.__setitem__  # type: ignore[method-assign]
    try:
        yield
    finally:
        limited.__setitem__ = checked  # type: ignore[method-assign]


def main() -> None:
    with embedded_aws() as endpoint:
        print(f"endpoint {endpoint}", flush=True)
        for line in sys.stdin:
            command, *arguments = line.split()
            if command != "load":
                print(f"error unknown command {command}", flush=True)
                continue
            try:
                table, tenant, total, overdue, sizes = arguments
                _load(table, tenant, int(total), int(overdue), sizes)
            except Exception as error:
                print(f"error {json.dumps(str(error))}", flush=True)
            else:
                print("done", flush=True)


if __name__ == "__main__":
    main()

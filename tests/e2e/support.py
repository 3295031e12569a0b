"""Driving approvals-local as a user does: its console script in subprocesses, HTTP with requests."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from approvals_local.template import REGION, load_template

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "approvals-local"
STARTUP_SECONDS = 60

Mint = Callable[..., str]  # the `token` fixture: token(user, tenant="acme", **options of tokens.mint)


def clean_environment(state_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without what other test suites set for the functions (table
    names, endpoint, expiry): serve would pass those on to the functions."""
    template = load_template(ROOT / "template.yaml")
    function_variables = {name for fn in template.functions.values() for name in fn.environment}
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in function_variables and name != "DYNAMODB_ENDPOINT"
    }
    environment.update({"APPROVALS_LOCAL_DIR": str(state_dir), **extra})
    return environment


def store_arguments() -> list[str]:
    """serve's store: the DynamoDB that DYNAMODB_TEST_ENDPOINT names (DynamoDB Local, a moto server,
    as the integration suite takes it), else none, so serve runs its embedded one.

    serve names the tables after the template's logical ids, and the suite expects them empty:
    an endpoint that already has them (an earlier run's) is refused before serve starts."""
    endpoint = os.environ.get("DYNAMODB_TEST_ENDPOINT")
    if not endpoint:
        return []
    wanted = set(load_template(ROOT / "template.yaml").tables)
    # serve's own credentials rule (approvals_local.dynamo.use_test_credentials): any will do
    # outside AWS. Short timeouts: an endpoint that does not answer fails the suite at once.
    dummy = "testing" if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")) else None
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or REGION
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
        aws_access_key_id=dummy,
        aws_secret_access_key=dummy,
    )
    try:
        existing = {name for page in client.get_paginator("list_tables").paginate() for name in page["TableNames"]}
    except (BotoCoreError, ClientError) as error:
        existing, unreachable = set(), str(error)
    else:
        unreachable = ""
    if unreachable:  # failed outside the except block, so the report is this line, not a traceback
        pytest.fail(f"DYNAMODB_TEST_ENDPOINT={endpoint}: cannot reach DynamoDB: {unreachable}", pytrace=False)
    if left := sorted(wanted & existing):
        pytest.fail(
            f"DYNAMODB_TEST_ENDPOINT={endpoint} already has the tables {', '.join(left)} (an earlier run's): "
            "the e2e suite needs a fresh store; restart DynamoDB Local (in memory) or delete those tables",
            pytrace=False,
        )
    return ["--dynamodb-endpoint", endpoint]


class Serve:
    """One `approvals-local serve` process."""

    def __init__(self, state_dir: Path, args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.stdout_lines: list[str] = []
        self.stderr_path = state_dir / "serve.stderr"
        self._lines: queue.Queue[str | None] = queue.Queue()
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(CLI), "serve", "--port", "0", *args],
                cwd=ROOT,
                env=clean_environment(state_dir, **(env or {})),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.base_url = self._wait_until_listening()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout_lines.append(line.rstrip("\n"))
            self._lines.put(line)
        self._lines.put(None)

    def _wait_until_listening(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"serve exited ({self.process.wait()}) before listening:\n{self.stderr()}")
            if line.startswith("listening on "):
                return line.removeprefix("listening on ").strip()
        self.process.kill()
        pytest.fail(f"serve did not listen within {STARTUP_SECONDS} s:\n{self.stderr()}")

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for_stdout(self, count: int, timeout: float = 10) -> list[str]:
        """The first ``count`` lines of stdout, once printed."""
        deadline = time.monotonic() + timeout
        while len(self.stdout_lines) < count and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
        return self.stdout_lines[:count]

    @property
    def dynamodb_endpoint(self) -> str:
        return str(json.loads((self.state_dir / "serve.json").read_text())["dynamodbEndpoint"])

    def stop(self) -> int:
        """SIGTERM, as a process manager stops it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def run_cli(state_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        cwd=ROOT,
        env=clean_environment(state_dir, **(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Api:
    """requests against one server, with a bearer token."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.timeout = timeout

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs)


def create_body(cart: str, approver: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "CART", "resourceId": cart, "action": "CHECKOUT", "approver": {"userId": approver}, **extra}


def wait_until(condition: Callable[[], Any], timeout: float = 15, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something truthy; that, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)
    return result

"""Throughput of local mode (section 5): locust, headless, against ``approvals-local serve``."""

from __future__ import annotations

import csv
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.cold_start import clean_environment
from bench.harness import ROOT
from bench.local_mode import mint_tokens
from bench.report import Section, fmt, verdict
from bench.world import APPROVER, REQUESTOR, TENANT, seed_document, write_seed

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120
MIX = "GET approval 40, GET list 25, POST permitted 20, POST search users 5, PATCH (comment) 5, POST create 5"


class Serve:
    def __init__(self, state: Path, seed: Path, containers: int | None) -> None:
        arguments = [str(BIN / "approvals-local"), "serve", "--port", "0", "--seed", str(seed)]
        arguments += ["--events-file", str(state / "events.jsonl")]
        if containers:
            arguments += ["--containers", str(containers)]
        self.log = state / "serve.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                arguments,
                cwd=ROOT,
                env={**clean_environment(), "APPROVALS_LOCAL_DIR": str(state)},
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"approvals-local serve did not start:\n{self.log.read_text()[-3000:]}")
            if line.startswith("listening on "):
                self.url = line.removeprefix("listening on ").strip()
                return

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def measure(scratch: Path, users: int, seconds: int, containers: int | None) -> Section:
    requesters = max(users, 2)
    carts = 2 + (seconds * 40) // requesters  # enough for ~5% creates at a few hundred requests a second
    write_seed(scratch / "seed.json", seed_document(requesters, carts))
    serve = Serve(scratch, scratch / "seed.json", containers)
    try:
        config = _prepare(serve.url, scratch, requesters, carts)
        (scratch / "load.json").write_text(json.dumps(config), encoding="utf-8")
        stats = _run_locust(serve.url, scratch, users, seconds)
    finally:
        serve.stop()
    section = Section(
        f"5. Local mode under load: locust, {users} users, {seconds} s, read-heavy mix",
        ["requests", "count", "failures", "req/s", "p50 ms", "p99 ms", "target", ""],
    )
    for row in stats:
        failures = int(row["Failure Count"])
        section.add(
            row["Name"] if row["Name"] != "Aggregated" else "all",
            int(row["Request Count"]),
            failures,
            float(row["Requests/s"]),
            fmt(_number(row["50%"])),
            fmt(_number(row["99%"])),
            "no errors",
            verdict(failures, 0),
        )
    failures_file = scratch / "locust_failures.csv"
    if failures_file.exists():
        with failures_file.open() as handle:
            for failure in csv.DictReader(handle):
                section.notes.append(
                    f"failure: {failure['Method']} {failure['Name']}: {failure['Error']} ({failure['Occurrences']}x)"
                )
    section.notes += [
        f"mix (weights): {MIX}; each simulated user sends its next request as soon as the last is answered; "
        f"serve with its embedded DynamoDB (moto), function containers: {containers or 'its default (4)'}, "
        "the stream publisher running; locust on the same 2 cores",
        "no floor is given: the embedded moto store answers one request at a time and is the limit here, not the "
        "service; this says whether the local mode carries a storefront's integration tests",
    ]
    return section


def _prepare(url: str, state: Path, requesters: int, carts: int) -> dict[str, Any]:
    names = [REQUESTOR] + [f"{REQUESTOR}{index}" for index in range(1, requesters)]
    tokens = mint_tokens(state, TENANT, [*names, APPROVER])
    approvals = []
    with requests.Session() as session:
        for name in names:
            cart = f"cart-{name}-0"
            body = {"resourceType": "CART", "resourceId": cart, "action": "CHECKOUT", "approver": {"userId": APPROVER}}
            response = session.post(
                f"{url}/approval/{TENANT}/approvals",
                json=body,
                headers={"Authorization": f"Bearer {tokens[name]}"},
                timeout=30,
            )
            response.raise_for_status()
            approvals.append({"id": response.json()["id"], "requestor": name, "cart": cart})
    free = [[name, f"cart-{name}-{index}"] for index in range(1, carts) for name in names]
    return {"tenant": TENANT, "tokens": tokens, "approvals": approvals, "free_carts": free}


def _run_locust(url: str, state: Path, users: int, seconds: int) -> list[dict[str, str]]:
    prefix = state / "locust"
    arguments = [
        str(BIN / "locust"),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    result = subprocess.run(
        arguments,
        cwd=ROOT,
        env={**os.environ, "BENCH_LOAD_CONFIG": str(state / "load.json")},
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    stats_file = Path(f"{prefix}_stats.csv")
    if result.returncode != 0 or not stats_file.exists():
        raise RuntimeError(f"locust failed ({result.returncode}):\n{result.stderr[-3000:]}")
    with stats_file.open() as handle:
        rows = list(csv.DictReader(handle))
    return sorted(rows, key=lambda row: (row["Name"] == "Aggregated", row["Name"]))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None

"""A serve of the fuzz tests' own (they change its data at random, so no other test may share it),
seeded with the demo seed plus carts enough for many creates."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from approvals_local.tokens import load_signing_key
from tests.e2e.support import Serve
from tests.fuzz.support import TALLY, World, write_seed
from tests.reporting import report


# Session-wide: pytest-xdist may run other modules' tests between these, and the pool of approvals
# and the counts must outlast that.
@pytest.fixture(scope="session")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state_dir = tmp_path_factory.mktemp("approvals-local-fuzz")
    seed = write_seed(state_dir)
    server = Serve(state_dir, ["--seed", str(seed), "--events-file", str(state_dir / "events.jsonl")])
    try:
        world = World(server.base_url, load_signing_key(state_dir))
        world.populate()
        yield world
        if os.environ.get("PYTEST_XDIST_WORKER") and TALLY.cases:
            # A worker's output is not shown: the warnings summary is.
            report("schemathesis cases\n" + "\n".join(TALLY.lines()))
    finally:
        code = server.stop()
        assert code == 0, f"serve exited with {code} on SIGTERM:\n{server.stderr()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Without pytest-xdist (make fuzz), the counts close the run."""
    if TALLY.cases:
        terminalreporter.section("schemathesis cases")
        for line in TALLY.lines():
            terminalreporter.write_line(line)

"""The benchmarks still run: the whole of ``python -m bench`` at its smallest scale, in a fresh
interpreter, printing every section of its table. Figures are never asserted (a slow or busy
machine must not fail the tests); ``make bench`` is where they are read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "1. DynamoDB per API call",
    "2. Cold start",
    "3. Warm overhead",
    "4. Scaling",
    "5. Local mode under load",
)


@pytest.mark.xdist_group("bench")
def test_bench_runs_at_smoke_scale_and_prints_its_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "smoke", "--json", str(tmp_path / "bench.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    for heading in SECTIONS:
        assert heading in result.stdout, f"{heading!r} missing from:\n{result.stdout}"
    for call in ("GET approval", "POST create", "GET list (first page)", "expiry sweep", "GetApprovalFunction"):
        assert call in result.stdout
    assert (tmp_path / "bench.json").exists()

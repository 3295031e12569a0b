"""``python -m bench``: every measurement in one run, printed as one table per section.

Figures are printed, never judged by the exit code: a slow machine does not fail anything. The
exit code is non-zero only when a measurement could not run at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import FUNCTIONS
from bench.report import Section

SECTIONS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Scale:
    import_runs: int
    cold_functions: tuple[str, ...] | None  # None: every function
    warm_iterations: int
    warm_warmup: int
    sweep_cost_size: int
    total: int
    overdue: int
    list_sizes: tuple[int, ...]
    load_users: int
    load_seconds: int
    containers: int | None  # serve's --containers; None: serve's default


SCALES = {
    "full": Scale(7, None, 100, 10, 100, 100_000, 1_000, (10, 1_000, 10_000), 10, 30, None),
    "smoke": Scale(1, ("GetApprovalFunction",), 3, 1, 5, 200, 20, (3, 10, 30), 2, 2, 1),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scale = replace(
        SCALES[args.scale],
        **{name: value for name, value in vars(args).items() if name in Scale.__dataclass_fields__ and value},
    )
    only = set(args.only or SECTIONS)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    started = time.monotonic()
    sections: dict[int, Section] = {}

    def progress(text: str) -> None:
        print(f"[bench {time.monotonic() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    if 2 in only:
        from bench import cold_start

        progress("2. cold start")
        sections[2] = cold_start.measure(scale.import_runs, scale.cold_functions or FUNCTIONS)
    if only & {1, 3, 4}:
        _in_process(scale, only, sections, progress, args.dynamodb_endpoint)
    if 5 in only:
        from bench import load

        progress("5. local mode under load")
        with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
            sections[5] = load.measure(Path(scratch), scale.load_users, scale.load_seconds, scale.containers)
    progress("done")

    ordered = [sections[number] for number in sorted(sections)]
    print(_header(args.scale, scale, time.monotonic() - started))
    for section in ordered:
        print()
        print(section.text())
    if args.markdown:
        args.markdown.write_text(
            "\n\n".join([_header(args.scale, scale, time.monotonic() - started)] + [s.markdown() for s in ordered])
            + "\n",
            encoding="utf-8",
        )
    if args.json:
        args.json.write_text(
            json.dumps({"scale": asdict(scale), "sections": [asdict(s) for s in ordered]}, indent=2),
            encoding="utf-8",
        )
    return 0


def _in_process(
    scale: Scale, only: set[int], sections: dict[int, Section], progress: Callable[[str], None], endpoint: str | None
) -> None:
    from bench import endpoints, scaling
    from bench.dynamo_server import DynamoServer
    from bench.harness import Functions
    from bench.local_mode import load_seed
    from bench.world import seed_document, write_seed

    with contextlib.ExitStack() as stack:
        server = None
        if endpoint is None:
            server = stack.enter_context(DynamoServer())
            endpoint = server.endpoint
        functions = Functions(endpoint)
        stack.callback(functions.close)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        load_seed(
            functions.probe, functions.tables["DirectoryTable"], write_seed(scratch / "seed.json", seed_document())
        )
        points = endpoints.endpoints(functions)
        # The costs run first in any case: they learn which items each call writes.
        progress("1. DynamoDB requests and capacity per call")
        costs = endpoints.measure_costs(functions, points, scale.sweep_cost_size)
        if 1 in only:
            sections[1] = costs
        if 3 in only:
            progress("3. warm overhead")
            sections[3] = endpoints.measure_warm(functions, points, scale.warm_iterations, scale.warm_warmup)
        if 4 in only:
            progress(f"4. scaling ({scale.total:,} approvals)")
            sections[4] = scaling.measure(functions, server, scale.total, scale.overdue, scale.list_sizes)


def _header(name: str, scale: Scale, seconds: float) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"Approval service benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, scale {name}: "
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {seconds:.0f} s"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full", help="preset sizes (default full)")
    parser.add_argument(
        "--only", type=int, action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument("--import-runs", type=int, help="fresh interpreters per import measurement")
    parser.add_argument("--warm-iterations", type=int, help="timed invocations per call")
    parser.add_argument("--total", type=int, help="approvals loaded for the scaling section")
    parser.add_argument("--overdue", type=int, help="of which overdue")
    parser.add_argument(
        "--list-sizes",
        type=lambda text: tuple(int(part) for part in text.split(",")),
        help="approvals of the list users, comma-separated (default 10,1000,10000)",
    )
    parser.add_argument("--load-users", type=int, help="concurrent locust users")
    parser.add_argument("--load-seconds", type=int, help="how long the load runs")
    parser.add_argument("--containers", type=int, help="serve's --containers (default: serve's own)")
    parser.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="measure sections 1, 3 and 4 against this DynamoDB (DynamoDB Local, ...) instead of local mode's engine",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    return parser

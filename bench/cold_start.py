"""Cold start (section 2): the import time of each function's module in a fresh interpreter, as
Lambda's init phase runs it, against importing boto3 alone; code and layer sizes."""

from __future__ import annotations

import importlib.metadata
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement

from bench.harness import FUNCTIONS, ROOT, function_environment
from bench.local_mode import http_functions
from bench.report import Section, verdict

LAYER_BUDGET_MIB = 15
TARGET = 1.3  # x import boto3; boto3.client("dynamodb")
BOTO3 = "import boto3"
BOTO3_CLIENT = "import boto3; boto3.client('dynamodb')"
# What every HTTP function needs whatever its code: boto3 and a client, pydantic (the domain's
# models) and Powertools' Logger and Metrics. The target's room above boto3 is what remains.
LIBRARIES = "+ pydantic, Powertools Logger and Metrics (no service code)"
LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s+)(\S+)\s*$")
# boto3 and what it needs come with the Lambda runtime: not the layer's own weight.
# What Lambda sets in every function's environment (a handler's import can depend on it: Powertools
# enables its Tracer there).
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "approval-function",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "LAMBDA_TASK_ROOT": "/var/task",
    "APPROVAL_DETAILED_TRACING": "false",
}
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}


def clean_environment() -> dict[str, str]:
    """This process's environment without the functions' variables a benchmark set."""
    names = set(function_environment({"ApprovalsTable": "", "DirectoryTable": "", "IdempotencyTable": ""}, ""))
    keep = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
    # The untimed first round writes the bytecode the timed ones read: a caller's
    # PYTHONDONTWRITEBYTECODE would have every round compile the layer's sources instead.
    dropped = (names - keep) | {"PYTHONDONTWRITEBYTECODE"}
    return {name: value for name, value in os.environ.items() if name not in dropped}


def import_times(module: str, path: list[Path], env: dict[str, str], cwd: Path) -> tuple[float, dict[str, float]]:
    """Cumulative import time of ``module`` in a fresh interpreter (ms), and the time spent in
    each top-level package's own modules (self times, ms)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env={**env, "PYTHONPATH": os.pathsep.join(str(p) for p in path)},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{result.stderr[-2000:]}")
    total = 0.0
    by_package: dict[str, float] = defaultdict(float)
    for line in result.stderr.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        own, cumulative, indent, name = int(match[1]), int(match[2]), match[3], match[4]
        by_package[name.split(".")[0]] += own / 1000
        if name == module and len(indent) == 1:
            total = cumulative / 1000
    return total, dict(by_package)


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def layer_dependencies() -> dict[str, int]:
    """Bytes of each distribution ``pip install -r layers/requirements.txt`` puts in the layer
    (as installed here: the build for arm64 differs a little in the compiled ones)."""
    sizes: dict[str, int] = {}
    wanted = [
        Requirement(line)
        for line in (ROOT / "layers" / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    while wanted:
        requirement = wanted.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in sizes:
            continue
        try:
            dist = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        sizes[name] = sum(file.size or 0 for file in dist.files or [])
        for extra in requirement.extras or {""}:
            for text in dist.requires or []:
                dependency = Requirement(text)
                if dependency.marker is None or dependency.marker.evaluate({"extra": extra}):
                    wanted.append(dependency)
    return sizes


def measure(runs: int, functions: Iterable[str] = FUNCTIONS) -> Section:
    section = Section(
        f"2. Cold start: import time of each handler in a fresh interpreter (median of {runs})",
        ["function", "import ms", "x import boto3", "x boto3 + client", "target", "", "code"],
    )
    env = {
        **clean_environment(),
        **function_environment(
            {"ApprovalsTable": "ApprovalsTable", "DirectoryTable": "DirectoryTable", "IdempotencyTable": "Idempotency"},
            "http://127.0.0.1:8000",
        ),
        **LAMBDA_ENVIRONMENT,
    }
    # Tracing as deployed: the template's defaults (active tracing on, DetailedTracing off), not
    # Powertools' switch that tests and local mode set.
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    # Rounds, each importing everything once, so that a machine busier at one moment than at
    # another weighs on every figure alike.
    http = http_functions(ROOT)
    times: dict[str, list[float]] = {name: [] for name in (BOTO3, BOTO3_CLIENT, LIBRARIES, *functions)}
    attribution: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "boto3_with_client.py").write_text(
            'import boto3\nboto3.client("dynamodb", endpoint_url="http://127.0.0.1:8000", region_name="us-east-1")\n',
            encoding="utf-8",
        )
        (folder / "libraries.py").write_text(
            "import boto3\n"
            'boto3.client("dynamodb", endpoint_url="http://127.0.0.1:8000", region_name="us-east-1")\n'
            "from pydantic import BaseModel\n"
            "from aws_lambda_powertools import Logger, Metrics\n"
            'Logger(service="approval-service")\n'
            'Metrics(namespace="ApprovalService")\n',
            encoding="utf-8",
        )
        imports = {
            BOTO3: ("boto3", [folder], folder),
            BOTO3_CLIENT: ("boto3_with_client", [folder], folder),
            LIBRARIES: ("libraries", [folder], folder),
            # /var/task and /opt/python in Lambda
            **{f: ("app", [_code(f), ROOT / "layers"], _code(f)) for f in functions},
        }
        for round_ in range(runs + 1):  # the first writes bytecode and fills the page cache: untimed
            for name, (module, path, cwd) in imports.items():
                total, by_package = import_times(module, path, env, cwd)
                if round_ == 0:
                    continue
                times[name].append(total)
                if name == "GetApprovalFunction":
                    for package, ms in by_package.items():
                        attribution[package] = attribution.get(package, 0) + ms / runs
    median = {name: statistics.median(values) for name, values in times.items()}
    boto3_alone, with_client = median[BOTO3], median[BOTO3_CLIENT]
    section.add("import boto3 (the floor)", boto3_alone, "1.00x", f"{boto3_alone / with_client:.2f}x", "", "", "")
    section.add(BOTO3_CLIENT, with_client, f"{with_client / boto3_alone:.2f}x", "1.00x", "", "", "")
    libraries = median[LIBRARIES]
    section.add(LIBRARIES, libraries, f"{libraries / boto3_alone:.2f}x", f"{libraries / with_client:.2f}x", "", "", "")
    for logical_id in functions:
        ratio = median[logical_id] / with_client
        is_http = logical_id in http
        section.add(
            logical_id,
            median[logical_id],
            f"{median[logical_id] / boto3_alone:.2f}x",
            f"{ratio:.2f}x",
            f"≤ {TARGET}x" if is_http else "—",
            verdict(ratio, TARGET) if is_http else "—",
            _size(tree_size(_code(logical_id))),
        )
    dependencies = layer_dependencies()
    own = sum(size for name, size in dependencies.items() if name not in RUNTIME_PROVIDED)
    runtime = sum(size for name, size in dependencies.items() if name in RUNTIME_PROVIDED)
    biggest = sorted(((size, name) for name, size in dependencies.items()), reverse=True)[:4]
    section.add("layer: approval_core", "", "", "", "", "", _size(tree_size(ROOT / "layers" / "approval_core")))
    shipped = own + tree_size(ROOT / "layers" / "approval_core")
    section.add(
        "layer: + the dependencies it ships (requirements.txt)",
        "",
        "",
        "",
        f"≤ {LAYER_BUDGET_MIB} MiB",
        verdict(shipped / 2**20, LAYER_BUDGET_MIB),
        _size(shipped),
    )
    top = sorted(attribution.items(), key=lambda kv: kv[1], reverse=True)[:6]
    get_total = median.get("GetApprovalFunction") or 1.0
    section.notes += [
        "each import runs in a new interpreter (bytecode cached, one untimed round first; rounds interleave "
        "every import) with the function's "
        "environment and the layer on the path as Lambda puts it (/var/task, /opt/python); the handler's "
        "import includes what its module does at load: settings, the boto3 client, the service",
        "Lambda's environment (AWS_LAMBDA_FUNCTION_NAME, AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT set), tracing as "
        "deployed by default: active tracing on, DetailedTracing off, so the X-Ray SDK is not imported; the "
        f"target (≤ {TARGET}x import boto3 plus a DynamoDB client) is for the HTTP functions (template.yaml's "
        "routes); the event functions (Cognito trigger, queues, schedule, stream) show —",
        f"'{LIBRARIES}': a module importing only what every HTTP function needs besides its own code (the "
        "domain's models are pydantic; Powertools logs and metrics): the lowest ratio this design can reach",
        "GetApprovalFunction's import time by top-level package (own modules' self time): "
        + ", ".join(f"{name} {ms:.0f} ms ({ms / get_total:.0%})" for name, ms in top),
        "layer dependencies, largest: "
        + ", ".join(f"{name} {_size(size)}" for size, name in biggest)
        + f"; runtime-provided (boto3, botocore, ...) among them: {_size(runtime)}",
    ]
    return section


def _code(logical_id: str) -> Path:
    return ROOT / "functions" / FUNCTIONS[logical_id]


def _size(size: int) -> str:
    return f"{size / 1024:,.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MiB"

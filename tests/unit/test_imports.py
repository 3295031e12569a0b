"""What importing a function loads, as Lambda's init phase does it (AWS_LAMBDA_FUNCTION_NAME set,
tracing as deployed by default): never the X-Ray SDK unless DetailedTracing is on, and the
shared HTTP edge never the use cases. Cold start pays for every module imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTTP_FUNCTIONS = [
    "create_approval",
    "get_approval",
    "list_approvals",
    "update_approval",
    "close_approval",
    "decide_approvals",
    "check_permitted",
    "search_users",
]
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "approval-function",
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "APPROVALS_TABLE_NAME": "ApprovalsTable",
    "DIRECTORY_TABLE_NAME": "DirectoryTable",
    "IDEMPOTENCY_TABLE_NAME": "IdempotencyTable",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def loaded_modules(folder: Path, statement: str, **extra: str) -> set[str]:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("POWERTOOLS", "APPROVAL"))},
        **LAMBDA_ENVIRONMENT,
        **extra,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "layers")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        env=environment,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_a_function_never_imports_the_xray_sdk_without_detailed_tracing(function: str) -> None:
    modules = loaded_modules(ROOT / "functions" / function, "import app")
    assert not {name for name in modules if name.startswith("aws_xray_sdk")}


def test_detailed_tracing_brings_the_xray_sdk_back() -> None:
    modules = loaded_modules(ROOT / "functions" / "get_approval", "import app", APPROVAL_DETAILED_TRACING="true")
    assert "aws_xray_sdk" in modules


def test_the_http_edge_and_settings_do_not_import_the_use_cases() -> None:
    modules = loaded_modules(ROOT / "layers", "import approval_core.api.http, approval_core.api.settings")
    assert "approval_core.service" not in modules

"""What importing a function loads, as Lambda's init phase does it (AWS_LAMBDA_FUNCTION_NAME set,
tracing as deployed by default): never the X-Ray SDK unless DetailedTracing is on, never
Powertools' event handler package (API Gateway routes; approval_core.api.routing answers), and
each function its own use case only. Cold start pays for every module imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from approvals_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
# Every function behind the HTTP API, as template.yaml declares them.
TEMPLATE = load_template(ROOT / "template.yaml")
HTTP_FUNCTIONS = sorted({TEMPLATE.functions[route.function].code_uri.name for route in TEMPLATE.routes})
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


def test_the_http_functions_are_found_in_the_template() -> None:
    assert {"get_approval", "list_approvals", "put_directory_entry", "receive_emporix_webhook"} <= set(HTTP_FUNCTIONS)


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_a_function_never_imports_powertools_event_handler(function: str) -> None:
    # Its package imports every resolver (AppSync's with asyncio, ...) and every event data class.
    modules = loaded_modules(ROOT / "functions" / function, "import app")
    assert not {name for name in modules if name.startswith("aws_lambda_powertools.event_handler")}
    assert "asyncio" not in modules


def test_reading_one_approval_loads_neither_the_query_language_nor_the_directory_feed() -> None:
    modules = loaded_modules(ROOT / "functions" / "get_approval", "import app")
    assert "approval_core.service" in modules
    unrelated = {"approval_core.domain.query", "approval_core.directory_feed", "approval_core.api.list_parameters"}
    assert not unrelated & modules


def test_a_directory_write_loads_no_approval_use_case() -> None:
    modules = loaded_modules(ROOT / "functions" / "put_directory_entry", "import app")
    assert "approval_core.directory_feed" in modules
    unrelated = {"approval_core.service", "approval_core.domain.query", "approval_core.adapters.approval_store"}
    assert not unrelated & modules


def test_no_function_builds_a_pydantic_schema_at_import() -> None:
    # Models build on first use (defer_build); settings are plain dataclasses.
    modules = loaded_modules(
        ROOT / "functions" / "get_approval",
        "import app\nfrom approval_core.domain import directory, models\n"
        "for module in (directory, models):\n"
        "    assert not [m for m in vars(module).values() if getattr(m, '__pydantic_complete__', False)]",
    )
    assert "approval_core.domain.models" in modules


def test_detailed_tracing_brings_the_xray_sdk_back() -> None:
    modules = loaded_modules(ROOT / "functions" / "get_approval", "import app", APPROVAL_DETAILED_TRACING="true")
    assert "aws_xray_sdk" in modules


def test_the_http_edge_and_settings_do_not_import_the_use_cases() -> None:
    modules = loaded_modules(ROOT / "layers", "import approval_core.api.http, approval_core.api.settings")
    assert "approval_core.service" not in modules

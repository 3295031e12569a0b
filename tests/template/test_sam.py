"""The template deploys: `sam validate --lint` and `sam build` pass (make test provides the SAM CLI
in its own tool environment and the python3.13 interpreter the build needs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.reporting import report

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.sam, pytest.mark.xdist_group("sam")]


def sam_cli() -> str:
    sam = os.environ.get("SAM_CLI") or str(ROOT / ".tools/sam/bin/sam")
    if not Path(sam).is_absolute():
        sam = str(ROOT / sam)
    if not Path(sam).exists():
        pytest.skip("SAM CLI not installed: run `make test` (it installs it under .tools/)")
    return sam


def run_sam(*args: str, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    if extra_path:
        env["PATH"] = f"{extra_path}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [sam_cli(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_sam_validate_lint_passes() -> None:
    result = run_sam("validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_sam_validate_lint_passes_with_each_samconfig_environment(environment: str) -> None:
    result = run_sam("validate", "--lint", "--config-env", environment)
    assert result.returncode == 0, result.stdout + result.stderr


# What the layer may weigh unzipped (boto3 and botocore alone are over 20 MiB).
LAYER_BUDGET_BYTES = 15 * 2**20


def test_sam_build_builds_every_function_and_the_layer(tmp_path: Path) -> None:
    python313 = os.environ.get("PYTHON313_DIR", "")
    if not python313:
        pytest.skip("No python3.13 interpreter on this machine: sam build needs the runtime's interpreter")
    build_dir = tmp_path / "build"
    result = run_sam(
        "build", "--build-dir", str(build_dir), "--cache-dir", str(tmp_path / "cache"), extra_path=python313
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (build_dir / "CreateApprovalFunction" / "app.py").exists()
    assert (build_dir / "GetApprovalFunction" / "app.py").exists()
    # The user pool's token trigger is built like the others, and its code is the layer's.
    assert (build_dir / "PreTokenGenerationFunction" / "app.py").exists()
    assert (build_dir / "ApprovalCoreLayer" / "python" / "approval_core" / "domain" / "access.py").exists()
    layer = build_dir / "ApprovalCoreLayer" / "python"
    assert (layer / "approval_core" / "service.py").exists()
    # The layer is built for the functions' architecture (arm64), not this machine's.
    assert list((layer / "pydantic_core").glob("*aarch64*.so"))
    # The linear-time regex engine of q=field:~regex is a compiled wheel too.
    assert list((layer / "re2").glob("_re2*aarch64*.so"))
    # Lean: boto3 and botocore come with the runtime, and the X-Ray SDK is a layer of its own.
    assert not [name for name in ("boto3", "botocore", "aws_xray_sdk") if (layer / name).exists()]
    size = sum(path.stat().st_size for path in layer.rglob("*") if path.is_file())
    report(f"layer built for arm64: {size / 2**20:.1f} MiB (budget {LAYER_BUDGET_BYTES / 2**20:.0f} MiB)")
    assert size <= LAYER_BUDGET_BYTES
    xray = build_dir / "XRaySdkLayer" / "python"
    assert (xray / "aws_xray_sdk").exists()
    assert not (xray / "botocore").exists()

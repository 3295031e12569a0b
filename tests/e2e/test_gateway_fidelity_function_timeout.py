"""Row 3 of local mode's fidelity: a function that runs past its ``Timeout`` is stopped, and the
caller gets API Gateway's bare 500; the integration gives up after 30 s with 503 while the function
runs on.

Sources: Lambda stops an invocation at the function's Timeout ("Task timed out after ... seconds")
and API Gateway answers a failed Lambda integration with 500 {"message":"Internal Server Error"};
http-api-quotas, "Maximum integration timeout: 30 seconds"; the 503 {"message":"Service
Unavailable"} an HTTP API answers then is reported publicly (github.com/anomalyco/sst/issues/2232).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from approvals_local.gateway import INTEGRATION_TIMEOUT_SECONDS, GatewaySettings
from tests.e2e.fidelity_support import project

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_the_integration_timeout_is_api_gateways() -> None:
    assert INTEGRATION_TIMEOUT_SECONDS == 30
    assert GatewaySettings().integration_timeout_seconds == 30


def test_a_function_past_its_timeout_is_stopped_and_the_caller_gets_500(tmp_path: Path) -> None:
    with project(tmp_path, containers=1) as served:
        first = requests.get(f"{served.url}/sleep", params={"seconds": "0"}, timeout=60)
        assert first.status_code == 200, first.text

        started = time.monotonic()
        slow = requests.get(f"{served.url}/sleep", params={"seconds": "20"}, timeout=60)
        waited = time.monotonic() - started
        assert slow.status_code == 500
        assert slow.json() == {"message": "Internal Server Error"}
        assert waited < 10, f"the caller waited {waited:.1f} s for a function with a 1 s Timeout"

        # The stopped function's container is gone: the next invocation is a cold start.
        after = requests.get(f"{served.url}/sleep", params={"seconds": "0"}, timeout=60)
        assert after.status_code == 200, after.text
        assert after.json()["pid"] != first.json()["pid"]
        assert after.json()["invocations"] == 1


def test_a_function_within_its_timeout_answers(tmp_path: Path) -> None:
    with project(tmp_path, containers=1) as served:
        response = requests.get(f"{served.url}/sleep", params={"seconds": "0.2"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["slept"] == 0.2


def test_past_the_integration_timeout_the_caller_gets_503_and_the_function_runs_on(tmp_path: Path) -> None:
    # The 30 s of AWS, shortened so the test is quick; PatientFunction's Timeout is 60 s.
    settings = GatewaySettings(integration_timeout_seconds=1)
    with project(tmp_path, containers=1, settings=settings) as served:
        response = requests.get(f"{served.url}/patient", params={"seconds": "3"}, timeout=60)
        assert response.status_code == 503
        assert response.json() == {"message": "Service Unavailable"}
        # The function was not stopped: its container finishes the invocation, then takes the next.
        time.sleep(3)
        after = requests.get(f"{served.url}/patient", params={"seconds": "0"}, timeout=60)
        assert after.status_code == 200, after.text
        assert after.json()["invocations"] == 2


def test_a_warm_container_is_reused_before_another_is_started(tmp_path: Path) -> None:
    # Only a stopped container makes the next invocation a cold start, as in Lambda.
    with project(tmp_path, containers=3) as served:
        pids = {requests.get(f"{served.url}/sleep", timeout=60).json()["pid"] for _ in range(3)}
    assert len(pids) == 1

"""Row 4 of local mode's fidelity: the stage's throttling. API Gateway throttles each route with a
token bucket (ThrottlingBurstLimit tokens, refilled at ThrottlingRateLimit per second, from the
stage's DefaultRouteSettings or the route's RouteSettings) and answers 429 beyond it.

Local mode throttles only with ``serve --throttle`` (a load test of local mode would otherwise
measure the throttle, not the service) and says so at start-up and in the README.

Source: docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from approvals_local.gateway import GatewaySettings
from approvals_local.template import Throttling, load_template
from tests.e2e.fidelity_support import project
from tests.e2e.support import ROOT, Serve

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_every_route_of_the_template_has_the_stages_limits() -> None:
    routes = load_template(ROOT / "template.yaml").routes
    assert routes
    assert {route.throttling for route in routes} == {Throttling(rate_limit=100, burst_limit=200)}


def test_beyond_the_burst_requests_are_429_until_the_bucket_refills(tmp_path: Path) -> None:
    # DefaultRouteSettings of the small template: burst 3, one request every 2 seconds.
    with project(tmp_path, settings=GatewaySettings(throttling=True)) as served:
        answers = [requests.post(f"{served.url}/open", json={}, timeout=30).status_code for _ in range(3)]
        assert answers == [200, 200, 200]
        refused = requests.post(f"{served.url}/open", json={}, timeout=30)
        assert refused.status_code == 429
        assert refused.json() == {"message": "Too Many Requests"}
        # Each route has its bucket: another route is not throttled by this one's traffic.
        assert requests.get(f"{served.url}/sleep", timeout=30).status_code == 200
        time.sleep(2.2)
        assert requests.post(f"{served.url}/open", json={}, timeout=30).status_code == 200


def test_route_settings_override_the_stage_default(tmp_path: Path) -> None:
    with project(tmp_path, settings=GatewaySettings(throttling=True)) as served:
        answers = {requests.get(f"{served.url}/unthrottled", timeout=30).status_code for _ in range(10)}
    assert 429 not in answers


def test_without_the_flag_nothing_is_throttled(tmp_path: Path) -> None:
    with project(tmp_path) as served:
        answers = {requests.post(f"{served.url}/open", json={}, timeout=30).status_code for _ in range(10)}
    assert answers == {200}


def test_serve_says_at_start_up_that_it_does_not_throttle(serve: Serve) -> None:
    assert "throttling off: the stage throttles at 100/s, burst 200 per route in AWS" in serve.stderr()
    assert "--throttle enforces it here" in serve.stderr()

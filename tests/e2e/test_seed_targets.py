"""`seed` with several `serve` processes running from one project: it says which one it loaded
into, reaches each by --port or --url, and still finds the first after the latest stops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from approvals_local.tokens import load_signing_key, mint
from tests.e2e.support import Api, Serve, create_body, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# One function container each: these serves only take a seed and a probe, and start and stop faster.
LIGHT = ["--containers", "1"]

INITECH = {
    "tenants": {
        "initech": {
            "companies": [{"id": "it", "name": "Initech"}],
            "customers": [
                {
                    "id": "pete",
                    "firstName": "Pete",
                    "lastName": "Gibbons",
                    "groups": ["B2B_REQUESTER"],
                    "companies": ["it"],
                },
                {
                    "id": "bill",
                    "firstName": "Bill",
                    "lastName": "Lumbergh",
                    "groups": ["B2B_ADMIN"],
                    "companies": ["it"],
                },
            ],
            "carts": [
                {
                    "id": "cart-pete",
                    "customerId": "pete",
                    "companyId": "it",
                    "currency": "USD",
                    "items": [{"quantity": 1, "itemPrice": {"currency": "USD", "amount": 5}}],
                    "totalPrice": {"currency": "USD", "amount": 5},
                }
            ],
        }
    }
}


@pytest.fixture(scope="module")
def two_serves(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Serve, Serve]]:
    state_dir = tmp_path_factory.mktemp("two-serves")
    first = Serve(state_dir, LIGHT)
    second = Serve(state_dir, LIGHT)
    yield first, second
    for server in (second, first):
        server.stop()


def knows_initech(server: Serve) -> bool:
    """Whether this serve's store has the seeded tenant: Pete can ask Bill for approval there."""
    token = mint(load_signing_key(server.state_dir), tenant="initech", user="pete")
    probe = create_body("cart-pete", "bill", id=f"probe-{urlsplit(server.base_url).port}")
    created = Api(server.base_url).call("POST", "/approval/initech/approvals", token, json=probe)
    # Unseeded, Pete belongs to no company (400011); seeded, he may ask (201, or 409 the second time).
    return created.status_code in (201, 409)


def test_seed_names_the_latest_serve_and_mentions_the_other(two_serves: tuple[Serve, Serve], tmp_path: Path) -> None:
    first, second = two_serves
    seed_file = tmp_path / "initech.json"
    seed_file.write_text(json.dumps(INITECH))

    result = run_cli(second.state_dir, "seed", str(seed_file))

    assert result.returncode == 0, result.stderr
    assert f"into the serve at {second.base_url} (pid {second.process.pid})" in result.stderr
    assert first.base_url in result.stderr  # the other one, and how to pick it
    assert "--port" in result.stderr
    assert knows_initech(second)
    assert not knows_initech(first)


def test_seed_reaches_a_chosen_serve_by_port_or_url(two_serves: tuple[Serve, Serve], tmp_path: Path) -> None:
    first, _ = two_serves
    seed_file = tmp_path / "initech.json"
    seed_file.write_text(json.dumps(INITECH))
    port = str(urlsplit(first.base_url).port)

    by_port = run_cli(first.state_dir, "seed", str(seed_file), "--port", port)
    assert by_port.returncode == 0, by_port.stderr
    assert f"into the serve at {first.base_url}" in by_port.stderr
    assert knows_initech(first)

    by_url = run_cli(first.state_dir, "seed", str(seed_file), "--url", f"http://localhost:{port}/")
    assert by_url.returncode == 0, by_url.stderr
    assert f"into the serve at {first.base_url}" in by_url.stderr


def test_seed_to_a_port_where_no_serve_runs_lists_those_that_do(
    two_serves: tuple[Serve, Serve], tmp_path: Path
) -> None:
    first, second = two_serves
    seed_file = tmp_path / "initech.json"
    seed_file.write_text(json.dumps(INITECH))
    result = run_cli(first.state_dir, "seed", str(seed_file), "--port", "1")
    assert result.returncode == 1
    assert "no approvals-local serve runs on port 1" in result.stderr
    assert first.base_url in result.stderr
    assert second.base_url in result.stderr


def test_after_the_latest_stops_seed_finds_the_one_still_running(tmp_path_factory: pytest.TempPathFactory) -> None:
    state_dir = tmp_path_factory.mktemp("serve-stops")
    first = Serve(state_dir, LIGHT)
    try:
        second = Serve(state_dir, LIGHT)
        assert second.stop() == 0
        seed_file = state_dir / "initech.json"
        seed_file.write_text(json.dumps(INITECH))

        result = run_cli(state_dir, "seed", str(seed_file))

        assert result.returncode == 0, result.stderr
        assert f"into the serve at {first.base_url}" in result.stderr
        assert knows_initech(first)
    finally:
        first.stop()

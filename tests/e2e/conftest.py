"""`approvals-local serve` as a user runs it: a subprocess of the repository's console script,
driven over HTTP. Its state (signing key, serve.json) lives in a temporary folder so the tests
never touch a developer's running server or key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from approvals_local.tokens import SigningKey, load_signing_key, mint
from tests.e2e.support import Api, Mint, Serve, store_arguments


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("approvals-local")


@pytest.fixture(scope="session")
def serve(state_dir: Path) -> Iterator[Serve]:
    # The published events go to a file, so stdout holds serve's own lines only. The store is the
    # DynamoDB of DYNAMODB_TEST_ENDPOINT when set (as in the integration suite), else serve's own.
    server = Serve(state_dir, ["--events-file", str(state_dir / "events.jsonl"), *store_arguments()])
    yield server
    code = server.stop()
    assert code == 0, f"serve exited with {code} on SIGTERM:\n{server.stderr()}"


@pytest.fixture(scope="session")
def base_url(serve: Serve) -> str:
    return serve.base_url


@pytest.fixture(scope="session")
def signing_key(serve: Serve) -> SigningKey:
    """The key serve created on start (the tokens module reads the same file the CLI does)."""
    return load_signing_key(serve.state_dir)


@pytest.fixture(scope="session")
def token(signing_key: SigningKey) -> Mint:
    def _token(user: str, tenant: str = "acme", **options: Any) -> str:
        return mint(signing_key, tenant=tenant, user=user, **options)

    return _token


@pytest.fixture(scope="session")
def api(base_url: str) -> Api:
    return Api(base_url)

"""What the benchmarks use of local mode (``approvals_local``), behind typed functions.

The package is installed under that name from ``local/``, a mapping mypy's search path does not
know, so it is imported by name here and nowhere else in ``bench``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"approvals_local.{name}")


def function_folders(root: Path) -> dict[str, str]:
    """The template's functions: logical id -> function folder (its sample event's name)."""
    functions = _module("template").load_template(root / "template.yaml").functions
    return {str(logical_id): str(function.code_uri.name) for logical_id, function in functions.items()}


def http_functions(root: Path) -> set[str]:
    """The template's functions behind the HTTP API (logical ids)."""
    return {str(route.function) for route in _module("template").load_template(root / "template.yaml").routes}


def table_definitions(root: Path) -> dict[str, dict[str, Any]]:
    """The template's tables: logical id -> CreateTable arguments (without the name)."""
    tables: dict[str, dict[str, Any]] = _module("template").load_template(root / "template.yaml").tables
    return tables


def load_seed(client: DynamoDBClient, table: str, path: Path) -> int:
    """Write a seed file (local mode's format) into the directory table; the items written."""
    seed = _module("seed")
    written: int = seed.load_seed(client, table, seed.read_seed(path))
    return written


@contextlib.contextmanager
def embedded_aws() -> Iterator[str]:
    """Local mode's embedded AWS (moto's server, per-item transactions): its endpoint, for the
    life of the block."""
    dynamo = _module("dynamo")
    dynamo.use_test_credentials()
    with dynamo.EmbeddedAws() as aws:
        yield str(aws.endpoint)


def mint_tokens(state: Path, tenant: str, users: Iterable[str], ttl: int = 24 * 3600) -> dict[str, str]:
    """Access tokens that an ``approvals-local serve`` keeping its key in ``state`` accepts."""
    tokens = _module("tokens")
    key = tokens.load_signing_key(state)
    return {user: str(tokens.mint(key, tenant=tenant, user=user, ttl=ttl)) for user in users}


def account_and_region() -> tuple[str, str]:
    """Where the embedded server keeps what a client without an account sends it."""
    template = _module("template")
    return str(template.ACCOUNT_ID), str(template.REGION)

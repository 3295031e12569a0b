"""What local mode keeps between runs, under ``.approvals-local/`` in the project: the development
signing key (``serve`` and ``token`` must agree on it) and the addresses of the running serves and
their stores (so ``seed`` finds what ``serve`` started)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .template import find_root

# Tests point this elsewhere so they never touch a developer's key or running server.
STATE_DIR_VARIABLE = "APPROVALS_LOCAL_DIR"
SERVE_FILE = "serve.json"
SERVERS_DIR = "servers"


def state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_VARIABLE)
    directory = Path(configured) if configured else find_root() / ".approvals-local"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def write_private(path: Path, data: bytes) -> bool:
    """Create ``path`` readable by its owner only; False when it already exists (someone else
    won the race to create it, and theirs is kept)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def publish_server(endpoint: str, url: str, aws_endpoint: str | None = None) -> Path:
    """Say where this running serve is: its API, its store and (awsEndpoint) the embedded server
    with the template's buses and queues (the OnFailure queue of a stream, say).

    Each serve has an entry of its own under ``servers/`` (so ``seed --port`` reaches any of
    them), and ``serve.json`` names the one started last."""
    info: dict[str, Any] = {"pid": os.getpid(), "dynamodbEndpoint": endpoint, "url": url, "startedAt": time.time()}
    if aws_endpoint:
        info["awsEndpoint"] = aws_endpoint
    _write(_servers_dir() / f"{os.getpid()}.json", info)
    return _write(state_dir() / SERVE_FILE, info)


def withdraw_server() -> None:
    """Forget this serve. If it was the latest, the latest still running takes its place."""
    (_servers_dir() / f"{os.getpid()}.json").unlink(missing_ok=True)
    path = state_dir() / SERVE_FILE
    if _read(path).get("pid") != os.getpid():
        return
    others = running_servers()
    if others:
        _write(path, others[0])
    else:
        path.unlink(missing_ok=True)


def running_servers() -> list[dict[str, Any]]:
    """Every ``serve`` that published itself here and still runs, the latest started first."""
    found = []
    for entry in sorted(_servers_dir().glob("*.json")):
        info = _read(entry)
        if _alive(info):
            found.append(info)
        else:
            entry.unlink(missing_ok=True)  # a serve that was killed before it could withdraw
    latest = _read(state_dir() / SERVE_FILE)  # a serve of an older version has no entry of its own
    if _alive(latest) and all(info["pid"] != latest["pid"] for info in found):
        found.append(latest)
    return sorted(found, key=lambda info: float(info.get("startedAt") or 0), reverse=True)


def running_server() -> dict[str, Any] | None:
    """The latest started ``serve`` that still runs, if any."""
    servers = running_servers()
    return servers[0] if servers else None


def _alive(info: dict[str, Any]) -> bool:
    pid = info.get("pid")
    if not isinstance(pid, int) or not isinstance(info.get("dynamodbEndpoint"), str):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    return True


def _servers_dir() -> Path:
    directory = state_dir() / SERVERS_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def _write(path: Path, info: dict[str, Any]) -> Path:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(info))
    temporary.replace(path)
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}

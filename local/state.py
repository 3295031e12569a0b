"""What local mode keeps between runs, under ``.approvals-local/`` in the project: the development
signing key (``serve`` and ``token`` must agree on it) and the address of the running store (so
``seed`` finds what ``serve`` started)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .template import find_root

# Tests point this elsewhere so they never touch a developer's key or running server.
STATE_DIR_VARIABLE = "APPROVALS_LOCAL_DIR"
SERVE_FILE = "serve.json"


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
    """Say where the running serve is: its API, its store and (awsEndpoint) the embedded server
    with the template's buses and queues (the OnFailure queue of a stream, say)."""
    path = state_dir() / SERVE_FILE
    temporary = path.with_name(f".{SERVE_FILE}.{os.getpid()}")
    info = {"pid": os.getpid(), "dynamodbEndpoint": endpoint, "url": url}
    if aws_endpoint:
        info["awsEndpoint"] = aws_endpoint
    temporary.write_text(json.dumps(info))
    temporary.replace(path)
    return path


def withdraw_server() -> None:
    """Forget the running server, unless a later ``serve`` has published itself since."""
    path = state_dir() / SERVE_FILE
    if _read(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def running_server() -> dict[str, Any] | None:
    """The ``serve`` that published itself and still runs, if any."""
    info = _read(state_dir() / SERVE_FILE)
    pid = info.get("pid")
    if not isinstance(pid, int) or not isinstance(info.get("dynamodbEndpoint"), str):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    return info


def _read(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
